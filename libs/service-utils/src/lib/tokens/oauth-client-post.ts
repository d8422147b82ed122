/** What an OAuth 2.0 endpoint answered: its status, and its body when that is a JSON object. */
export interface OAuthAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>> | undefined;
}

/** A client of an OAuth 2.0 endpoint and its secret (a secret). */
export interface OAuthClientSecret {
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * POSTs `fields` as a form to an OAuth 2.0 endpoint (token, introspection), authenticated as
 * `client` with `client_secret_basic`; with a deadline, without redirects.
 * @throws Error when no answer arrived in time (the caller says what that means).
 */
export async function postAsOAuthClient(
  url: URL,
  client: OAuthClientSecret,
  fields: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<OAuthAnswer> {
  // RFC 6749 section 2.3.1: id and secret are form-encoded before they are joined.
  const basic = Buffer.from(
    `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`,
  ).toString('base64');
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${basic}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    },
    body: new URLSearchParams(fields).toString(),
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  return { status: response.status, body: parseObject(await response.text()) };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
