/**
 * What the billing rules decided, in their own terms: the services return these, and only the
 * controllers turn them into HTTP answers (the contract in libs/contracts says which).
 */

/** An outcome, and whether it repeats what an earlier request with the same key got. */
export interface Replayable<O> {
  readonly outcome: O;
  readonly replayed: boolean;
}

/** Opening an account. */
export type OpeningOutcome =
  | { readonly kind: 'created'; readonly userId: string; readonly balance: bigint }
  | { readonly kind: 'account_exists' };

/**
 * The outcomes of a deduct or top-up that an `Idempotency-Key` remembers: a retry with the
 * same key and body gets the same one again, without a second ledger entry.
 */
export type RememberedChangeOutcome =
  | {
      readonly kind: 'applied';
      readonly userId: string;
      readonly balance: bigint;
      readonly transactionId: string;
    }
  | { readonly kind: 'insufficient_funds'; readonly balance: bigint }
  | { readonly kind: 'account_not_found' };

/**
 * A deduct or top-up. The refusals below are not remembered: nothing happened, so the same
 * key may be used again once the reason is gone.
 */
export type BalanceChangeResult =
  | RememberedChangeOutcome
  /** A top-up would take the balance above the limit. */
  | { readonly kind: 'balance_limit_exceeded' }
  /** The same key is held by a request that is still running. */
  | { readonly kind: 'in_progress' }
  /** The key was used for another request (another body or route). */
  | { readonly kind: 'idempotency_key_reused' };
