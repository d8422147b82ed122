// Helpers shared by the scripts that run the stack or talk to it. The stack itself (which
// services, their ports and URLs, start, readiness, stop) is libs/stack-launcher, which these
// scripts load from its build: see loadLauncher().
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseEnv } from 'node:util';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// STACK_ENV_FILE points the scripts at another file (the end-to-end test of npm start uses a
// scratch one, so it never touches a developer's .env).
export const ENV_FILE = process.env.STACK_ENV_FILE || join(ROOT, '.env');
const EXAMPLE_FILE = join(ROOT, '.env.example');

/** A fresh random secret (32 bytes, URL-safe base64: 43 characters). */
export function generateSecret() {
  return randomBytes(32).toString('base64url');
}

/**
 * Makes sure .env exists and holds real secrets: on first run it is written from
 * .env.example with every placeholder secret replaced by a generated one (mode 0600).
 * @returns the names of the secrets it generated.
 */
export function ensureEnvFile() {
  const generated = [];
  const text = existsSync(ENV_FILE)
    ? readFileSync(ENV_FILE, 'utf8')
    : readFileSync(EXAMPLE_FILE, 'utf8');
  const updated = text.replace(
    /^(INTERNAL_SERVICE_TOKEN|POSTGRES_PASSWORD)=(.*)$/gm,
    (line, name, value) => {
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
export function stackEnvironment() {
  const fromFile = existsSync(ENV_FILE) ? parseEnv(readFileSync(ENV_FILE, 'utf8')) : {};
  return { ...fromFile, ...process.env };
}

/** The subscription tiers an invite can grant. */
export const TIERS = ['free', 'pro', 'team'];

/**
 * Asks the running auth server for a single-use invite (an internal call: the token from
 * `env` goes in the X-INTERNAL-TOKEN header, never in the URL or the output).
 * @returns the invite code.
 */
export async function createInvite(env, tier) {
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
  const body = await response.json().catch(() => ({}));
  if (response.status !== 201) {
    throw new Error(
      `auth-server answered ${response.status} ${JSON.stringify(body)} to POST /invites`,
    );
  }
  return body.invite_code;
}

/**
 * Builds the four services (the projects tagged `type:app`), the launcher and the `projects`
 * named; Nx caches what did not change. Build errors are shown.
 */
export function buildServices(projects = []) {
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
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    },
  );
}

/**
 * The stack launcher (libs/stack-launcher) as buildServices() builds it into dist/: import it
 * after the build, not before (a fresh checkout has no dist/ yet).
 */
export async function loadLauncher() {
  const entry = join(ROOT, 'dist', 'libs', 'stack-launcher', 'index.js');
  if (!existsSync(entry)) {
    throw new Error(`${entry} is missing: build it first (npm run build)`);
  }
  return import(pathToFileURL(entry).href);
}
