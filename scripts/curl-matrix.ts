// `npm run curl-matrix [-- <file>]`: runs every check of docs/curl-matrix.md (or of the file
// given, e.g. docs/curl-matrix-identity.md for INTERNAL_AUTH_MODE=token+jwt) against a running
// stack and exits non-zero on any mismatch. A check is a ```sh block with a `# expect: STATUS {json}`
// line: the status must match and the body must contain every field of the JSON given
// (`$NAME` in it stands for a variable below). A `# capture: NAME=field` line stores that
// field of the answer in $NAME for the checks that follow (an invite code, a user id, a
// user or service token). URLs and secrets come from the environment or .env (each check's
// shell gets them, as the files' set-up block does); the user id is fresh each run (set U to
// choose it).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellEnvironment } from './config/environment';
import { ROOT, stackEnvironment } from './stack';

const env = stackEnvironment();
const file = process.argv[2] ?? join('docs', 'curl-matrix.md');
if (!env.INTERNAL_SERVICE_TOKEN) {
  console.error(
    'curl-matrix: INTERNAL_SERVICE_TOKEN is not set (run npm start once, or export it)',
  );
  process.exit(2);
}
const serviceUrl = (variable: string, portVariable: string, port: number): string =>
  env[variable] || `http://127.0.0.1:${env[portVariable] || port}`;
const vars: Record<string, string> = {
  TOKEN: env.INTERNAL_SERVICE_TOKEN,
  // The read-only scrape credential of GET /metrics (npm start generates it).
  METRICS_TOKEN: env.METRICS_TOKEN ?? '',
  BILLING: serviceUrl('BILLING_SERVER_URL', 'BILLING_SERVER_PORT', 6004),
  AUTH: serviceUrl('AUTH_SERVER_URL', 'AUTH_SERVER_PORT', 6001),
  FS: serviceUrl('FILESYSTEM_SERVER_URL', 'FILESYSTEM_SERVER_PORT', 6002),
  BACKEND: env.BACKEND_URL || `http://127.0.0.1:${env.BACKEND_PORT || 8000}`,
  U: env.U || `matrix-${randomBytes(4).toString('hex')}`,
};
// Values never printed, even in a failure report: the shared token, every client secret of
// .env, and what the checks capture (invite codes, user and service tokens).
// By name: not ACCESS_TOKEN_TTL_SECONDS and the like, whose values are plain numbers.
const isSecret = (name: string): boolean =>
  /(TOKEN|TOKEN_ACCEPT|SECRET|SECRET_NEXT|PASSWORD|JWT|INVITE|BEARER)$/.test(name);
const stackSecrets = Object.entries(env).flatMap(([name, value]): Array<[string, string]> =>
  isSecret(name) && value
    ? value.split(',').flatMap((part) => (part.trim() ? [[name, part.trim()]] : []))
    : [],
);

const markdown = readFileSync(join(ROOT, file), 'utf8');
const checks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)]
  .map((match) => match[1])
  .filter((block) => block.includes('# expect:'));

/** A JSON object (not an array), whose fields are still to be checked. */
function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `actual` has every field of `expected` (recursively; arrays compared whole). */
function contains(actual: unknown, expected: unknown): boolean {
  if (!isObject(expected)) {
    return JSON.stringify(actual) === JSON.stringify(expected);
  }
  return (
    typeof actual === 'object' &&
    actual !== null &&
    Object.entries(expected).every(
      ([key, value]) => key in actual && contains(Reflect.get(actual, key), value),
    )
  );
}

const substitute = (text: string): string =>
  text.replace(/\$([A-Z_]+)/g, (whole, name: string) => vars[name] ?? whole);
const redact = (text: string): string =>
  [...Object.entries(vars).filter(([name, value]) => isSecret(name) && value), ...stackSecrets]
    .sort(([, a], [, b]) => b.length - a.length)
    .reduce((out, [name, value]) => out.replaceAll(value, `<${name}>`), text)
    // What an answer carries that no variable holds yet (a check that failed captured nothing).
    .replace(/"(access_token|refresh_token|invite_code|client_secret)":"[^"]*"/g, '"$1":"<secret>"')
    .replace(/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, '<jwt>');

let failed = 0;
for (const [index, block] of checks.entries()) {
  const expectLine = /# expect: (\d{3})(?: (.*))?/.exec(block);
  if (!expectLine) throw new Error(`no "# expect: STATUS" line in check ${index + 1}:\n${block}`);
  const expectedStatus = expectLine[1];
  const expectedBody = expectLine[2] ? JSON.parse(substitute(expectLine[2])) : undefined;
  const capture = /# capture: ([A-Z_]+)=([a-z_]+)/.exec(block);
  const command = block.replace(/^# (expect|capture):.*\n/gm, '').trim();
  const output = execFileSync('bash', ['-c', command], {
    env: { ...env, ...shellEnvironment, ...vars },
    encoding: 'utf8',
  }).trim();
  const status = output.slice(-3);
  const bodyText = output.slice(0, -3).trim();
  let body: unknown;
  try {
    body = bodyText ? (JSON.parse(bodyText) as unknown) : undefined;
  } catch {
    body = bodyText;
  }
  const ok =
    status === expectedStatus && (expectedBody === undefined || contains(body, expectedBody));
  if (ok && capture)
    vars[capture[1]] = String((isObject(body) ? body[capture[2]] : undefined) ?? '');
  const title = redact(command.split('\n')[0]).slice(0, 110);
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${String(index + 1).padStart(2)} ${expectedStatus} ${title}`,
  );
  if (!ok) {
    failed += 1;
    console.log(
      `       expected ${expectedStatus} ${expectLine[2] ?? ''}\n       got      ${status} ${redact(bodyText)}`,
    );
  }
}
console.log(`curl-matrix: ${checks.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
