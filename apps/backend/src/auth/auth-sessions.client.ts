import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import {
  authApi,
  type Endpoint,
  type Outcome,
  pathOf,
  readOutcome,
  type RequestBody,
} from '@zt/contracts';
import {
  type CallCredential,
  InternalCallCredentials,
  ServiceTokenUnavailableError,
} from '@zt/service-utils';
import { HttpError, UnexpectedUpstreamAnswerError } from '@zt/service-chassis';
import { SESSIONS_OPTIONS } from './user-auth.constants';

export interface SessionsOptions {
  /** The auth server (`AUTH_SERVER_URL`). */
  readonly authUrl: string;
  /** Deadline of one call (`INTERNAL_HTTP_TIMEOUT_MS`). */
  readonly timeoutMs: number;
  /** How often the revocation feed is read (`REVOCATION_POLL_MS`). */
  readonly pollIntervalMs: number;
}

/** The auth server's name: the audience of the backend's service tokens for it. */
const AUTH_AUDIENCE = 'auth-server';
const AUTH_UNAVAILABLE = () => new HttpError(HttpStatus.SERVICE_UNAVAILABLE, 'auth unavailable');

/**
 * The backend's calls to the auth server's session routes, each answer read into its outcome
 * by auth's contract (`@zt/contracts`). Plain `fetch` with the internal credential (the
 * service token too when the mode says so, renewed once when refused as invalid) and a
 * deadline, not the breaker-guarded client: the revocation feed is polled every few seconds,
 * and a slow auth server must not open a breaker that reports the backend unready. An auth
 * server that does not answer (or answers 5xx) is `503 {"error":"auth unavailable"}`; an
 * answer the contract does not declare is `UnexpectedUpstreamAnswerError` (500).
 */
@Injectable()
export class AuthSessionsClient {
  constructor(
    @Inject(SESSIONS_OPTIONS) private readonly options: SessionsOptions,
    private readonly credentials: InternalCallCredentials,
  ) {}

  /** `POST /revocations`: ends the session of one token. */
  revokeToken(
    userId: string,
    jti: string,
    expiresAt: number,
  ): Promise<Outcome<typeof authApi.revokeToken>> {
    return this.call(authApi.revokeToken, pathOf(authApi.revokeToken), {
      user_id: userId,
      jti,
      expires_at: expiresAt,
    });
  }

  /** `POST /users/:id/password`: the password, after the current one is checked. */
  changePassword(
    userId: string,
    body: RequestBody<typeof authApi.changePassword>,
  ): Promise<Outcome<typeof authApi.changePassword>> {
    const path = pathOf(authApi.changePassword, { user_id: userId });
    return this.call(authApi.changePassword, path, body);
  }

  /** `GET /revocations?after=`: revocations made after `after`, oldest first. */
  revocations(after: string): Promise<Outcome<typeof authApi.listRevocations>> {
    const path = pathOf(authApi.listRevocations, {}, { after, limit: '1000' });
    return this.call(authApi.listRevocations, path);
  }

  private async call<E extends Endpoint>(
    endpoint: E,
    path: string,
    body?: unknown,
  ): Promise<Outcome<E>> {
    let response = await this.send(endpoint, path, body);
    if (response.renewToken) response = await this.send(endpoint, path, body);
    const { status, text } = response;
    if (status >= 500) throw AUTH_UNAVAILABLE();
    let parsed: unknown;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      throw AUTH_UNAVAILABLE();
    }
    const outcome = readOutcome(endpoint, status, parsed);
    if (outcome === undefined) {
      throw new UnexpectedUpstreamAnswerError(
        'auth',
        `${endpoint.method} ${endpoint.path}`,
        status,
      );
    }
    return outcome;
  }

  /** One exchange; `renewToken` when the service token was refused as invalid (and dropped). */
  private async send(
    endpoint: Endpoint,
    path: string,
    body: unknown,
  ): Promise<{ status: number; text: string; renewToken: boolean }> {
    let credential: CallCredential;
    try {
      credential = await this.credentials.forCall(AUTH_AUDIENCE);
    } catch (error) {
      // No service token to be had (the token cache logged why).
      if (error instanceof ServiceTokenUnavailableError) throw AUTH_UNAVAILABLE();
      throw error;
    }
    let response: Response;
    try {
      response = await fetch(`${this.options.authUrl}${path}`, {
        method: endpoint.method,
        headers: {
          ...credential.headers,
          'X-Caller-Service': 'backend',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
    } catch {
      throw AUTH_UNAVAILABLE();
    }
    const text = await response.text().catch(() => '');
    const headers = { 'www-authenticate': response.headers.get('www-authenticate') ?? '' };
    const status = response.status;
    return {
      status,
      text,
      renewToken: this.credentials.refusedToken(AUTH_AUDIENCE, credential, { status, headers }),
    };
  }
}
