// Helpers shared by the scripts that run the stack or talk to it. The stack itself (which
// services, their ports and URLs, start, readiness, stop) is libs/stack-launcher, which these
// scripts load from its build: see loadLauncher().
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseEnv } from 'node:util';
import type * as StackLauncher from '@zt/stack-launcher';
import type { Environment } from '@zt/stack-launcher';
import { z } from 'zod';
import { envFileOverride, shellEnvironment } from './config/environment';

export const ROOT = join(__dirname, '..');

export const ENV_FILE = envFileOverride ?? join(ROOT, '.env');
const EXAMPLE_FILE = join(ROOT, '.env.example');

/**
 * Where `npm start` records itself for `npm run rotate-token` (and learns how its restarts
 * went): beside the env file, so "the stack that runs on this .env" is the one it signals.
 */
export const STATE_FILE = `${ENV_FILE}.stack.json`;

/** What {@link STATE_FILE} holds while `npm start` runs. */
export const stackStateSchema = z.object({
  pid: z.number(),
  envFile: z.string(),
  /** Rolling restarts so far. */
  restarts: z.number(),
  lastRestart: z.object({ ok: z.boolean(), message: z.string(), at: z.string() }).nullable(),
  /** Each service's URL. */
  services: z.record(z.string()),
});
export type StackState = z.infer<typeof stackStateSchema>;

/**
 * Runs the `main` of a script. tsx runs the scripts as CommonJS, which has no top-level await
 * (docs/decisions.md, "Running it"): an error `main` throws ends the process with code 1, as
 * an uncaught one does.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

/** The message of a caught error (anything may be thrown). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A fresh random secret (32 bytes, URL-safe base64: 43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Makes sure .env exists and holds real secrets: on first run it is written from
 * .env.example with every placeholder secret replaced by a generated one (mode 0600).
 * @returns the names of the secrets it generated.
 */
export function ensureEnvFile(): string[] {
  const generated: string[] = [];
  const text = existsSync(ENV_FILE)
    ? readFileSync(ENV_FILE, 'utf8')
    : readFileSync(EXAMPLE_FILE, 'utf8');
  const updated = text.replace(
    /^(INTERNAL_SERVICE_TOKEN|POSTGRES_PASSWORD)=(.*)$/gm,
    (line, name: string, value: string) => {
      if (value.trim() !== '' && !/YOUR_GENERATED/.test(value)) return line;
      generated.push(name);
      return `${name}=${generateSecret()}`;
    },
  );
  if (generated.length > 0 || !existsSync(ENV_FILE))
    writeFileSync(ENV_FILE, updated, { mode: 0o600 });
  return generated;
}

/** The stack's environment: .env, overridden by the variables already set in this shell. */
export function stackEnvironment(): Record<string, string | undefined> {
  const fromFile = existsSync(ENV_FILE) ? parseEnv(readFileSync(ENV_FILE, 'utf8')) : {};
  return { ...fromFile, ...shellEnvironment };
}

/** The subscription tiers an invite can grant. */
export const TIERS = ['free', 'pro', 'team'] as const;
export type Tier = (typeof TIERS)[number];

export function isTier(value: string): value is Tier {
  return (TIERS as readonly string[]).includes(value);
}

/**
 * Asks the running auth server for a single-use invite (an internal call: the token from
 * `env` goes in the X-INTERNAL-TOKEN header, never in the URL or the output).
 * @returns the invite code.
 */
export async function createInvite(env: Environment, tier: Tier): Promise<string> {
  const base = env.AUTH_SERVER_URL || `http://127.0.0.1:${env.AUTH_SERVER_PORT || 6001}`;
  const response = await fetch(`${base}/invites`, {
    method: 'POST',
    headers: {
      'X-INTERNAL-TOKEN': env.INTERNAL_SERVICE_TOKEN ?? '',
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ tier }),
    signal: AbortSignal.timeout(5000),
  });
  const body: unknown = await response.json().catch(() => ({}));
  const created = z.object({ invite_code: z.string() }).safeParse(body);
  if (response.status !== 201 || !created.success) {
    throw new Error(
      `auth-server answered ${response.status} ${JSON.stringify(body)} to POST /invites`,
    );
  }
  return created.data.invite_code;
}

/**
 * Builds the four services (the projects tagged `type:app`), the launcher and the `projects`
 * named; Nx caches what did not change. Build errors are shown.
 */
export function buildServices(projects: readonly string[] = []): void {
  execFileSync(
    'npx',
    [
      'nx',
      'run-many',
      '-t',
      'build',
      '-p',
      'tag:type:app',
      'stack-launcher',
      ...projects,
      '--output-style=static',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...shellEnvironment, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    },
  );
}

/**
 * The stack launcher (libs/stack-launcher) as buildServices() builds it into dist/: import it
 * after the build, not before (a fresh checkout has no dist/ yet).
 */
export async function loadLauncher(): Promise<typeof StackLauncher> {
  const entry = join(ROOT, 'dist', 'libs', 'stack-launcher', 'index.js');
  if (!existsSync(entry)) {
    throw new Error(`${entry} is missing: build it first (npm run build)`);
  }
  // The build of the source whose types are imported above.
  return (await import(pathToFileURL(entry).href)) as typeof StackLauncher;
}
