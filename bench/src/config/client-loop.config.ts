import {
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  readHttpUrl,
} from '@zt/service-utils';
import { type InternalClientConfig, loadInternalClientConfig } from '@zt/service-chassis';

/** The client-loop fixture's configuration. */
export interface ClientLoopConfig {
  /** The server the client calls (`BENCH_UPSTREAM_URL`). */
  readonly upstreamUrl: string;
  /** Secret: the credential the client sends. */
  readonly internalAuth: InternalAuthConfig;
  /** Timeout, retries and breaker settings, as a service would read them. */
  readonly client: InternalClientConfig;
}

/** Reads `BENCH_UPSTREAM_URL`, `INTERNAL_SERVICE_TOKEN` and the internal client's variables. */
export function loadClientLoopConfig(env: Environment): ClientLoopConfig {
  return {
    upstreamUrl: readHttpUrl(env, 'BENCH_UPSTREAM_URL', 'http://127.0.0.1:1'),
    internalAuth: loadInternalAuthConfig(env),
    client: loadInternalClientConfig(env),
  };
}

/** The configuration of this process: the only place the fixture reads `process.env`. */
export function loadClientLoopConfigFromProcess(): ClientLoopConfig {
  return loadClientLoopConfig(process.env);
}
