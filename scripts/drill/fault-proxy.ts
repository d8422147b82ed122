// A reverse proxy in front of one upstream (every caller reaches it through the proxy), which
// injects the fault the drill armed into the next call of the step it names: before the call
// reaches the upstream, or after the upstream answered and before the caller hears it. Only
// the backend's calls are steps of a metered write; others pass through untouched.
import { createServer, request as forward, type ServerResponse } from 'node:http';

/** What a fault does at its moment. */
export const FAULT_ACTIONS = ['kill-backend', 'kill-upstream', 'timeout', 'reset'] as const;
export type FaultAction = (typeof FAULT_ACTIONS)[number];

/** One fault, armed for the next call of its step. */
export interface Fault {
  readonly step: string;
  /** Before the call reaches the upstream, or after it answered. */
  readonly when: 'before' | 'after';
  readonly action: FaultAction;
  /** Called when it strikes. */
  onFire?(fault: Fault): void;
}

export interface FaultProxyOptions {
  readonly targetUrl: string;
  /** The step of a metered write a call is (`other` when it is none). */
  stepOf(method: string, url: string): string;
  readonly kill: { backend(): void; upstream(): void };
}

export interface FaultProxy {
  readonly url: string;
  arm(fault: Fault): void;
  disarm(): void;
  close(): Promise<void>;
}

// A call held back to make the backend time out is dropped after this long, whatever happens.
const HELD_CALL_MS = 30_000;

/** Starts a fault proxy in front of `targetUrl` on a free port of 127.0.0.1. */
export async function startFaultProxy({
  targetUrl,
  stepOf,
  kill,
}: FaultProxyOptions): Promise<FaultProxy> {
  // At most one fault per step, each striking once.
  const armed = new Map<string, Fault>();
  const target = new URL(targetUrl);

  const strike = (fault: Fault, response: ServerResponse): void => {
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
    const step = stepOf(request.method ?? '', request.url ?? '');
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
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('error', () => response.socket?.destroy());
        answer.on('end', () => {
          if (fault?.when === 'after') return strike(fault, response);
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          response.end(Buffer.concat(chunks));
        });
      },
    );
    upstream.on('error', () => response.socket?.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port to listen on');

  return {
    url: `http://127.0.0.1:${address.port}`,
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
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
