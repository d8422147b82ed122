import {
  type Environment,
  type InternalAuthConfig,
  loadInternalAuthConfig,
  readHttpUrl,
  readInteger,
  readString,
} from '@zt/service-utils';

/** Injection token of the {@link OrdersConfig}. */
export const ORDERS_CONFIG = Symbol('ORDERS_CONFIG');

/** The orders service's configuration, read and validated once at boot. */
export interface OrdersConfig {
  /** Interface to bind (`HOST`, default `127.0.0.1`). */
  readonly host: string;
  /** Port to listen on (`ORDERS_PORT`, default 7001; `0` asks for a free one). */
  readonly port: number;
  /** Where the inventory service listens (`INVENTORY_URL`). */
  readonly inventoryUrl: string;
  /** Deadline of a call to the inventory (`INVENTORY_TIMEOUT_MS`, default 3000). */
  readonly inventoryTimeoutMs: number;
  /** Secret (trust kit): the internal token accepted and sent (`INTERNAL_SERVICE_TOKEN`). */
  readonly internalAuth: InternalAuthConfig;
}

/**
 * Builds the configuration from `env`.
 * @throws ConfigError naming the variable at fault, never its value.
 */
export function loadOrdersConfig(env: Environment): OrdersConfig {
  return {
    host: readString(env, 'HOST', '127.0.0.1'),
    port: readInteger(env, 'ORDERS_PORT', 7001, { min: 0, max: 65535 }),
    inventoryUrl: readHttpUrl(env, 'INVENTORY_URL', 'http://127.0.0.1:7002'),
    inventoryTimeoutMs: readInteger(env, 'INVENTORY_TIMEOUT_MS', 3000, { min: 10, max: 60_000 }),
    // Trust kit: a missing, short or placeholder token stops the service at boot.
    internalAuth: loadInternalAuthConfig(env),
  };
}

/** The configuration of this process: the only place the service reads `process.env`. */
export function loadOrdersConfigFromProcess(): OrdersConfig {
  return loadOrdersConfig(process.env);
}
