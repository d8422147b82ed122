import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { type InternalAuthConfig, internalHeaders } from '@zt/service-utils';
import { HttpError } from '@zt/service-chassis';
import { SESSIONS_OPTIONS } from './user-auth.constants';

/** How the backend reaches the auth server's session routes. */
export interface SessionsOptions {
  /** The auth server (`AUTH_SERVER_URL`). */
  readonly authUrl: string;
  readonly internalAuth: InternalAuthConfig;
  /** Deadline of one call (`INTERNAL_HTTP_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** How often the revocation feed is read (`REVOCATION_POLL_MS`). */
  readonly pollIntervalMs: number;
}

/** An answer of the auth server. */
export interface AuthAnswer {
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
}

/**
 * The backend's calls to the auth server's internal session routes (revoke a token, change a
 * password, read the revocation feed), with the internal credential. Not an upstream of the
 * internal client: its breaker would make the backend's readiness depend on the auth server,
 * while cached keys keep serving users through an auth outage.
 * @throws HttpError 503 `auth unavailable` when the auth server gives no usable answer.
 */
@Injectable()
export class AuthSessionsClient {
  constructor(@Inject(SESSIONS_OPTIONS) private readonly options: SessionsOptions) {}

  /** `POST /revocations`: ends the session of one token. */
  revokeToken(userId: string, jti: string, expiresAt: number): Promise<AuthAnswer> {
    return this.call('POST', '/revocations', { user_id: userId, jti, expires_at: expiresAt });
  }

  /** `POST /users/:id/password`: the password, after the current one is checked. */
  changePassword(userId: string, body: Record<string, unknown>): Promise<AuthAnswer> {
    return this.call('POST', `/users/${encodeURIComponent(userId)}/password`, body);
  }

  /** `GET /revocations?after=`: revocations made after `after`, oldest first. */
  revocations(after: string): Promise<AuthAnswer> {
    return this.call('GET', `/revocations?after=${encodeURIComponent(after)}&limit=1000`);
  }

  private async call(method: string, path: string, body?: unknown): Promise<AuthAnswer> {
    let response: Response;
    try {
      response = await fetch(`${this.options.authUrl}${path}`, {
        method,
        headers: {
          ...internalHeaders(this.options.internalAuth),
          'X-Caller-Service': 'backend',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
    } catch {
      throw new HttpError(HttpStatus.SERVICE_UNAVAILABLE, 'auth unavailable');
    }
    const text = await response.text().catch(() => '');
    if (response.status >= 500) {
      throw new HttpError(HttpStatus.SERVICE_UNAVAILABLE, 'auth unavailable');
    }
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    } catch {
      throw new HttpError(HttpStatus.SERVICE_UNAVAILABLE, 'auth unavailable');
    }
    return { status: response.status, body: parsed };
  }
}
