// A reverse proxy in front of one upstream (every caller reaches it through the proxy), which
// injects the fault the drill armed into the next call of the step it names: before the call
// reaches the upstream, or after the upstream answered and before the caller hears it. Only
// the backend's calls are steps of a metered write; others pass through untouched.
import { createServer, request as forward } from 'node:http';

/** What a fault does at its moment. */
export const FAULT_ACTIONS = ['kill-backend', 'kill-upstream', 'timeout', 'reset'];

// A call held back to make the backend time out is dropped after this long, whatever happens.
const HELD_CALL_MS = 30_000;

/**
 * @param {{ targetUrl: string, stepOf: (method: string, url: string) => string,
 *   kill: { backend: () => void, upstream: () => void } }} options
 * @returns {Promise<{ url: string, arm(fault): void, disarm(): void,
 *   close(): Promise<void> }>}
 */
export async function startFaultProxy({ targetUrl, stepOf, kill }) {
  // At most one fault per step, each striking once.
  const armed = new Map();
  const target = new URL(targetUrl);

  const strike = (fault, response) => {
    switch (fault.action) {
      case 'kill-backend':
        kill.backend();
        break;
      case 'kill-upstream':
        kill.upstream();
        break;
      case 'timeout':
        // Never answered: the backend's own deadline ends the call.
        setTimeout(() => response.socket?.destroy(), HELD_CALL_MS).unref();
        return;
      case 'reset':
        break;
    }
    response.socket?.destroy();
  };

  const server = createServer((request, response) => {
    const step = stepOf(request.method, request.url);
    const fault = armed.get(step);
    if (fault) {
      armed.delete(step);
      fault.onFire?.(fault);
    }
    if (fault?.when === 'before') return strike(fault, response);

    const upstream = forward(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        const chunks = [];
        answer.on('data', (chunk) => chunks.push(chunk));
        answer.on('error', () => response.socket?.destroy());
        answer.on('end', () => {
          if (fault?.when === 'after') return strike(fault, response);
          response.writeHead(answer.statusCode, answer.headers);
          response.end(Buffer.concat(chunks));
        });
      },
    );
    upstream.on('error', () => response.socket?.destroy());
    request.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Arms `fault` for the next call of `fault.step` (replacing one armed for that step). */
    arm(fault) {
      armed.set(fault.step, fault);
    },
    /** Takes back the faults that have not fired. */
    disarm() {
      armed.clear();
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
