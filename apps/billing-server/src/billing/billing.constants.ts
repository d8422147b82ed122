/** Injection token of the idempotency key lifetime in hours. */
export const IDEMPOTENCY_KEY_TTL_HOURS = Symbol('IDEMPOTENCY_KEY_TTL_HOURS');
