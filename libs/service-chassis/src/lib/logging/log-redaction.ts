/** What a redacted value is replaced with in the log. */
export const REDACTED = '[Redacted]';

/** Headers whose values are credentials; never written to a log. */
export const SECRET_HEADERS = [
  'x-internal-token',
  'X-INTERNAL-TOKEN',
  'authorization',
  'Authorization',
  'cookie',
  'Cookie',
  'set-cookie',
  'Set-Cookie',
] as const;

/** Body fields (and other logged object fields) whose values are secrets; never written to a log. */
export const SECRET_FIELDS = [
  'password',
  'access_token',
  'refresh_token',
  'invite_code',
  'token',
  'sendToken',
  'acceptedTokens',
  'client_secret',
  'clientSecret',
  'accessToken',
  'serviceToken',
] as const;

/**
 * The pino `redact` paths of every service: the secret headers of a logged `headers` object
 * and the secret fields of a logged object, at the top level of a line. They are a second
 * line of defence: request lines carry only {@link LOGGED_REQUEST_HEADERS}, and no event of
 * ours logs a body. Exact paths only: wildcards (`*.token`) made redaction cost some 30 µs a
 * line, most of a request's logging (measured in docs/benchmarks, see decisions.md).
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  ...SECRET_HEADERS.map((name) => `headers["${name}"]`),
  ...SECRET_FIELDS,
];

/**
 * The request headers written in a `request completed` line: an allow-list, so that no
 * credential (`X-INTERNAL-TOKEN`, `Authorization`, `Cookie`, or one a client invents) can
 * enter the log through a request. The request id is logged as `request_id` already.
 */
export const LOGGED_REQUEST_HEADERS = [
  'user-agent',
  'content-type',
  'content-length',
  'x-caller-service',
  'x-user-id',
] as const;

// Query parameters whose name suggests a credential put in the wrong place.
const SECRET_QUERY_PARAMETER = /token|password|secret|key|code|auth|session|signature|cookie/i;

/**
 * A request URL fit for the log: the path as is, and the value of every query parameter whose
 * name suggests a secret (`token`, `access_token`, `password`, `api_key`, `code`, ...)
 * replaced by `[Redacted]`. Credentials belong in headers, but a client may still put one in
 * a URL, and the log must not keep it.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const query = url
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      const separator = pair.indexOf('=');
      const rawName = separator === -1 ? pair : pair.slice(0, separator);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // A malformed escape: judge the name as written.
      }
      return SECRET_QUERY_PARAMETER.test(name) ? `${rawName}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, queryStart)}?${query}`;
}
