/**
 * Something a service depends on gave no usable answer: another service of the platform
 * (`UpstreamUnavailableError`) or the service's own database (`DatabaseUnavailableError` of
 * `@zt/database`). The error filter answers `503 {"error":"<dependency> unavailable"}`, which a
 * caller may retry (with `Retry-After` when the dependency said when), and logs one warning
 * line (`dependency_unavailable`) without a stack: this is expected while the dependency is
 * down, and is not a fault of the service's code.
 *
 * The message names the dependency and the reason only: never a URL, host, credential or
 * statement.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    /** Who is unavailable, as the caller may be told: `billing`, `database`. */
    readonly dependency: string,
    /** Why, in a short machine-readable word (`timeout`, `ECONNREFUSED`, `57P01`). */
    readonly reason: string,
    message = `${dependency} unavailable: ${reason}`,
    /** When the dependency said it would serve again: the answer's `Retry-After`. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DependencyUnavailableError';
  }
}
