// `npm start`: builds what changed, then runs every service of the stack as its own process
// on embedded defaults, prints where each listens, and stops them all on Ctrl-C or SIGTERM.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  createInvite,
  ENV_FILE,
  ensureEnvFile,
  ROOT,
  SERVICES,
  stackEnvironment,
} from './stack.mjs';

const generated = ensureEnvFile();
if (generated.length > 0)
  console.log(
    `[start] generated ${generated.join(' and ')} in ${ENV_FILE} (git-ignored; keep it secret)`,
  );

console.log('[start] building (cached when nothing changed)...');
execFileSync(
  'npx',
  ['nx', 'run-many', '-t', 'build', '-p', ...SERVICES.map((s) => s.name), '--output-style=static'],
  {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
  },
);

const env = stackEnvironment();
// Readable logs in a terminal unless the operator chose a format.
env.LOG_FORMAT ||= 'text';
const children = [];
let stopping = false;

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const pending = children.filter((child) => child.exitCode === null && child.signalCode === null);
  let left = pending.length;
  if (left === 0) process.exit(code);
  for (const child of pending) child.once('exit', () => --left === 0 && process.exit(code));
  setTimeout(() => process.exit(code), 10_000).unref();
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

function startService(service) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', service.name, 'main.js')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let listening = false;
    const relay = (stream) => (chunk) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        stream.write(`[${service.name}] ${line}\n`);
        const match = /listening on (http:\/\/[^\s"]+)/.exec(line);
        if (match && !listening) {
          listening = true;
          resolve(match[1]);
        }
      }
    };
    child.stdout.on('data', relay(process.stdout));
    child.stderr.on('data', relay(process.stderr));
    child.once('exit', (code, signal) => {
      if (!listening) reject(new Error(`${service.name} exited (code ${code}) before listening`));
      else if (!stopping) {
        console.error(
          `[start] ${service.name} stopped (code ${code}, signal ${signal}): stopping the stack`,
        );
        stopAll(1);
      }
    });
  });
}

try {
  const urls = [];
  for (const service of SERVICES) urls.push([service.name, await startService(service)]);
  console.log('\n[start] the stack is up:');
  for (const [name, url] of urls) console.log(`  ${name.padEnd(18)} ${url}`);
  const auth = urls.find(([name]) => name === 'auth-server');
  if (auth) {
    const code = await createInvite({ ...env, AUTH_SERVER_URL: auth[1] }, 'pro');
    console.log(`\n[start] a first invite (tier pro, single use): ${code}`);
    console.log(
      '[start] register with it as in docs/quickstart.md; more: npm run invite -- <free|pro|team>',
    );
  }
  console.log(
    '\n[start] internal routes need the X-INTERNAL-TOKEN header (value in .env); try docs/curl-matrix.md.',
  );
  console.log('[start] Ctrl-C stops everything.\n');
} catch (error) {
  console.error(`[start] ${error.message}`);
  stopAll(1);
}
