import { MICROS_PER_CREDIT } from '../money/credits';

/** The subscription tiers and the balance an account of each opens with. `admin` is not a tier. */
export const TIER_OPENING_MICROS = {
  free: 1n * MICROS_PER_CREDIT,
  pro: 5n * MICROS_PER_CREDIT,
  team: 25n * MICROS_PER_CREDIT,
} as const;

/** A subscription tier. */
export type Tier = keyof typeof TIER_OPENING_MICROS;

/** Every tier, in display order. */
export const TIERS = Object.keys(TIER_OPENING_MICROS) as Tier[];
