/** Injection token of the {@link InternalClientOptions} given to `InternalClientModule.forRoot`. */
export const INTERNAL_CLIENT_OPTIONS = Symbol('INTERNAL_CLIENT_OPTIONS');

/**
 * The header that names the calling service on every internal call. Billing keeps
 * `Idempotency-Key`s per calling service under this name.
 */
export const CALLER_SERVICE_HEADER = 'X-Caller-Service';

/**
 * The only request headers a call site may set. Everything else a caller passes is dropped,
 * so a header that arrived from outside (an `X-INTERNAL-TOKEN` above all) can never be
 * forwarded through the client. The credential and `X-Caller-Service` are set by the client.
 */
export const FORWARDABLE_HEADERS = [
  'Idempotency-Key',
  'X-User-ID',
  'X-Write-ID',
  'X-User-Assertion',
  'X-Request-ID',
  'Content-Type',
] as const;
