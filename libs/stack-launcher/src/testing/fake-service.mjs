// A stand-in for a built service in the launcher's unit tests: it listens on the port of its
// port variable, logs `listening on` as a JSON line, answers /health/ready (503 until
// FAKE_READY_AFTER_MS), /env (the stack variables it was given) and /crash (exit 1). Set
// FAKE_EXIT_AT_START to exit with that code before listening, FAKE_PORT_TAKEN_ONCE to a file
// name to fail as if its port were taken (once: the file remembers), FAKE_IGNORE_SIGTERM to
// ignore SIGTERM.
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

const PORT_VARIABLES = [
  'BILLING_SERVER_PORT',
  'AUTH_SERVER_PORT',
  'FILESYSTEM_SERVER_PORT',
  'BACKEND_PORT',
];
const name = process.env.FAKE_NAME ?? 'fake';
const log = (level, msg, fields = {}) =>
  process.stdout.write(`${JSON.stringify({ level, service: name, msg, ...fields })}\n`);

if (process.env.FAKE_PORT_TAKEN_ONCE && !existsSync(process.env.FAKE_PORT_TAKEN_ONCE)) {
  writeFileSync(process.env.FAKE_PORT_TAKEN_ONCE, 'taken');
  process.stderr.write('Error: listen EADDRINUSE: address already in use\n');
  process.exit(1);
}
if (process.env.FAKE_EXIT_AT_START) {
  process.stderr.write('configuration error: FAKE_EXIT_AT_START is set\n');
  process.exit(Number(process.env.FAKE_EXIT_AT_START));
}
const started = Date.now();
const readyAfter = Number(process.env.FAKE_READY_AFTER_MS ?? 0);
const port = Number(PORT_VARIABLES.map((variable) => process.env[variable]).find(Boolean) ?? 0);

const server = createServer((request, response) => {
  if (request.url === '/health/ready') {
    response.statusCode = Date.now() - started >= readyAfter ? 200 : 503;
    return response.end();
  }
  if (request.url === '/env') {
    const wired = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => /_(PORT|URL)$|^FAKE_|^SHARED$/.test(key)),
    );
    response.setHeader('content-type', 'application/json');
    return response.end(JSON.stringify({ ...wired, started }));
  }
  if (request.url === '/crash') {
    response.end();
    log('error', 'crashing on purpose');
    return setImmediate(() => process.exit(1));
  }
  response.statusCode = 404;
  response.end();
});
server.listen(port, '127.0.0.1', () => {
  log('info', 'a boot line nobody needs');
  log('info', `${name} listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => {
  if (process.env.FAKE_IGNORE_SIGTERM) return log('warn', 'ignoring SIGTERM');
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
