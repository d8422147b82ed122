/** An answer of the billing server: the status and body to send, and whether it is a replay. */
export interface BillingResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** True when the answer was replayed from an earlier request with the same `Idempotency-Key`. */
  readonly replayed?: boolean;
}
