// The services of the stack, in start order, and helpers shared by the scripts that run it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Each service: its Nx project, the variable naming its port, and that port's default. */
export const SERVICES = [
  { name: 'billing-server', portVariable: 'BILLING_SERVER_PORT', defaultPort: 6004 },
].filter((service) => existsSync(join(ROOT, 'apps', service.name)));

export const ENV_FILE = join(ROOT, '.env');
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
