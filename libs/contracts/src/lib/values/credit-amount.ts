import { z } from 'zod';

/** Credits are kept as integer micro-credits: 1 credit = 1,000,000 micro-credits. */
export const MICROS_PER_CREDIT = 1_000_000n;
/** Largest amount of one deduct, top-up or hold: 1,000,000 credits. */
export const MAX_AMOUNT_MICROS = 1_000_000n * MICROS_PER_CREDIT;
/** Largest balance: 1,000,000,000 credits, so every balance is exact as a JSON number. */
export const MAX_BALANCE_MICROS = 1_000_000_000n * MICROS_PER_CREDIT;

/** How an input amount is written (DESIGN section 5): at most 7 integer digits and 6 decimals. */
export const CREDIT_AMOUNT_PATTERN = /^(0|[1-9][0-9]{0,6})(?:\.([0-9]{1,6}))?$/;

/**
 * Converts an input amount to micro-credits with exact decimal arithmetic (no float is ever
 * multiplied). Accepted: a JSON string matching {@link CREDIT_AMOUNT_PATTERN}, or a JSON
 * number whose shortest decimal form (`String(n)`) matches it; the amount must be greater
 * than 0 and at most 1,000,000 credits.
 * @returns the micro-credits, or `undefined` for anything else (negative, zero, too many
 * decimals, exponents, NaN, Infinity, booleans, arrays, objects, padded strings...).
 */
export function parseAmount(input: unknown): bigint | undefined {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (typeof input === 'number') text = String(input);
  else return undefined;
  const match = CREDIT_AMOUNT_PATTERN.exec(text);
  if (!match) return undefined;
  const micros = BigInt(match[1]) * MICROS_PER_CREDIT + BigInt((match[2] ?? '').padEnd(6, '0'));
  return micros > 0n && micros <= MAX_AMOUNT_MICROS ? micros : undefined;
}

/**
 * Converts micro-credits to the JSON number that carries them (`4250000n` -> `4.25`).
 * Exact for every value up to {@link MAX_BALANCE_MICROS}: at most 16 significant digits.
 */
export function toCredits(micros: bigint): number {
  const sign = micros < 0n ? '-' : '';
  const magnitude = micros < 0n ? -micros : micros;
  const whole = magnitude / MICROS_PER_CREDIT;
  const fraction = (magnitude % MICROS_PER_CREDIT).toString().padStart(6, '0');
  return Number(`${sign}${whole}.${fraction}`);
}

const AMOUNT_MESSAGE =
  'must be a number of credits greater than 0 and at most 1000000, with at most 6 decimals (e.g. 5 or "4.25")';

/**
 * An amount of credits in a body: the caller writes a string (`"4.25"`, exact) or a number;
 * the callee reads its micro-credits. Every refusal has the same message.
 */
export const creditAmount = z
  .union([z.string().regex(CREDIT_AMOUNT_PATTERN, AMOUNT_MESSAGE), z.number()], {
    errorMap: () => ({ message: AMOUNT_MESSAGE }),
  })
  .transform((value, context) => {
    const micros = parseAmount(value);
    if (micros === undefined) {
      context.addIssue({ code: z.ZodIssueCode.custom, message: AMOUNT_MESSAGE });
      return z.NEVER;
    }
    return micros;
  });
