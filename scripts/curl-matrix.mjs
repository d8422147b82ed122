// `npm run curl-matrix`: runs every check of docs/curl-matrix.md against a running stack and
// exits non-zero on any mismatch. A check is a ```sh block with a `# expect: STATUS {json}`
// line: the status must match and the body must contain every field of the JSON given.
// URLs and the token come from the environment or .env; the user id is fresh each run
// (set U to choose it).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, stackEnvironment } from './stack.mjs';

const env = stackEnvironment();
if (!env.INTERNAL_SERVICE_TOKEN) {
  console.error(
    'curl-matrix: INTERNAL_SERVICE_TOKEN is not set (run npm start once, or export it)',
  );
  process.exit(2);
}
const vars = {
  TOKEN: env.INTERNAL_SERVICE_TOKEN,
  BILLING: env.BILLING_SERVER_URL || 'http://127.0.0.1:6004',
  U: env.U || `matrix-${randomBytes(4).toString('hex')}`,
};

const markdown = readFileSync(join(ROOT, 'docs', 'curl-matrix.md'), 'utf8');
const checks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)]
  .map((match) => match[1])
  .filter((block) => block.includes('# expect:'));

/** True when `actual` has every field of `expected` (recursively; arrays compared whole). */
function contains(actual, expected) {
  if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) {
    return JSON.stringify(actual) === JSON.stringify(expected);
  }
  return (
    typeof actual === 'object' &&
    actual !== null &&
    Object.entries(expected).every(([key, value]) => key in actual && contains(actual[key], value))
  );
}

let failed = 0;
for (const [index, block] of checks.entries()) {
  const expectLine = /# expect: (\d{3})(?: (.*))?/.exec(block);
  const expectedStatus = expectLine[1];
  const expectedBody = expectLine[2]
    ? JSON.parse(expectLine[2].replaceAll('$U', vars.U))
    : undefined;
  const command = block.replace(/^# expect:.*\n/m, '').trim();
  const output = execFileSync('bash', ['-c', command], {
    env: { ...process.env, ...vars },
    encoding: 'utf8',
  }).trim();
  const status = output.slice(-3);
  const bodyText = output.slice(0, -3).trim();
  let body;
  try {
    body = bodyText ? JSON.parse(bodyText) : undefined;
  } catch {
    body = bodyText;
  }
  const ok =
    status === expectedStatus && (expectedBody === undefined || contains(body, expectedBody));
  const title = command.split('\n')[0].replace(vars.TOKEN, '<token>').slice(0, 110);
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${String(index + 1).padStart(2)} ${expectedStatus} ${title}`,
  );
  if (!ok) {
    failed += 1;
    console.log(
      `       expected ${expectedStatus} ${expectLine[2] ?? ''}\n       got      ${status} ${bodyText.replaceAll(vars.TOKEN, '<token>')}`,
    );
  }
}
console.log(`curl-matrix: ${checks.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
