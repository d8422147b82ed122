import { z } from 'zod';

/** The subscription tiers, in display order (DESIGN section 5). `admin` is not one. */
export const TIERS = ['free', 'pro', 'team'] as const;

/** A subscription tier. */
export type Tier = (typeof TIERS)[number];

/** A tier in a body: one of {@link TIERS}. */
export const tier = z.enum(TIERS, {
  errorMap: () => ({ message: `must be one of: ${TIERS.join(', ')}` }),
});

/** A count per tier, every tier present (billing's and auth's stats). */
export const countByTier = z.object({ free: z.number(), pro: z.number(), team: z.number() });
