/** The subscription tiers (billing's); `admin` is not one. */
export const TIERS = ['free', 'pro', 'team'] as const;

/** A subscription tier. */
export type Tier = (typeof TIERS)[number];
