import { MICROS_PER_CREDIT, type Tier } from '@zt/contracts';

/** The balance an account of each tier opens with (DESIGN section 5). */
export const TIER_OPENING_MICROS: Readonly<Record<Tier, bigint>> = {
  free: 1n * MICROS_PER_CREDIT,
  pro: 5n * MICROS_PER_CREDIT,
  team: 25n * MICROS_PER_CREDIT,
};
