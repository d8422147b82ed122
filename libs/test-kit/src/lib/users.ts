import { randomUUID } from 'node:crypto';
import { request, type TestResponse } from './http-client';

/** The password of the users {@link registerUser} makes, unless told otherwise. */
export const TEST_PASSWORD = 'correct horse battery staple';

/** A user registered through the auth server, as a newcomer registers. */
export interface TestUser {
  readonly userId: string;
  readonly email: string;
  readonly password: string;
  readonly tier: string;
  /** The invite it registered with (spent). */
  readonly inviteCode: string;
  readonly accessToken: string;
}

/** An email address no other test uses: `<label>-<random>@example.com`. */
export function uniqueEmail(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.com`;
}

/**
 * What a newcomer does, against the auth server at `authUrl`: an invite of `tier` (an internal
 * call with the operator's `inviteHeaders`, as `npm run invite` makes one), `POST /register` with it, then
 * `POST /login`. Throws, naming the step and its answer, when one does not answer as the
 * design says (201 with the email and tier, then 200 with a token).
 */
export async function registerUser(
  authUrl: string,
  inviteHeaders: Readonly<Record<string, string>>,
  options: { tier?: string; email?: string; password?: string } = {},
): Promise<TestUser> {
  const { tier = 'pro', email = uniqueEmail('user'), password = TEST_PASSWORD } = options;
  const invite = expectAnswer(
    'POST /invites',
    await request(`${authUrl}/invites`, {
      method: 'POST',
      json: { tier },
      headers: inviteHeaders,
    }),
    201,
  );
  const inviteCode = String(invite['invite_code']);
  const registered = expectAnswer(
    'POST /register',
    await request(`${authUrl}/register`, {
      method: 'POST',
      json: { email, password, invite_code: inviteCode },
    }),
    201,
  );
  if (registered['email'] !== email || registered['tier'] !== tier) {
    throw new Error(`POST /register answered ${JSON.stringify(registered)} for ${email}, ${tier}`);
  }
  const login = expectAnswer(
    'POST /login',
    await request(`${authUrl}/login`, { method: 'POST', json: { email, password } }),
    200,
  );
  return {
    userId: String(registered['user_id']),
    email,
    password,
    tier,
    inviteCode,
    accessToken: String(login['access_token']),
  };
}

function expectAnswer(step: string, answer: TestResponse, status: number): Record<string, unknown> {
  if (answer.status !== status || typeof answer.body !== 'object' || answer.body === null) {
    throw new Error(`${step} answered ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body as Record<string, unknown>;
}
