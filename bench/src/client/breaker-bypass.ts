import type { InternalHttpClient } from '@zt/service-chassis';

/** The parts of `InternalHttpClient` the bypass reaches into (private in the class). */
interface ClientInternals {
  readonly upstreams: Map<string, UpstreamInternals>;
  send(upstream: string, http: unknown, call: unknown): Promise<unknown>;
}

interface UpstreamInternals {
  readonly http: unknown;
  readonly breaker: { shutdown(): void };
}

/**
 * Replaces the opossum breaker of `upstream` in `client` by a pass-through that calls the
 * breaker's action (the client's own `send`) directly, so that the same client, with the same
 * request preparation, retries, deadlines and keep-alive agent, can be measured with and
 * without the breaker. The client has no switch for this (it should not: a service never
 * runs without its breaker), so this reaches into private members and fails loudly when
 * they change.
 */
export function bypassBreaker(client: InternalHttpClient, upstream: string): void {
  const internals = client as unknown as ClientInternals;
  const target = internals.upstreams instanceof Map ? internals.upstreams.get(upstream) : undefined;
  if (!target || typeof internals.send !== 'function' || !('breaker' in target)) {
    throw new Error(
      'InternalHttpClient no longer keeps { http, breaker } per upstream and a send() method: ' +
        'update bench/src/client/breaker-bypass.ts',
    );
  }
  target.breaker.shutdown();
  const passThrough = {
    fire: (call: unknown) => internals.send.call(client, upstream, target.http, call),
    closed: true,
    opened: false,
    halfOpen: false,
    shutdown: () => undefined,
  };
  internals.upstreams.set(upstream, { ...target, breaker: passThrough });
}
