/** The issuer could not say whether a token is active: the request is refused (fail closed). */
export class IntrospectionUnavailableError extends Error {
  constructor(
    /** `unreachable` (no answer in time), `server_error` (5xx), `refused` (4xx: this service's own credentials), `invalid_response`. */
    readonly reason: 'unreachable' | 'server_error' | 'refused' | 'invalid_response',
  ) {
    super(`token introspection unavailable: ${reason}`);
    this.name = 'IntrospectionUnavailableError';
  }
}
