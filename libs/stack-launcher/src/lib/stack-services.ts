/** A service of the stack: its Nx project, and its folder under `dist/apps/`. */
export type ServiceName = 'billing-server' | 'auth-server' | 'filesystem-server' | 'backend';

/** Environment variables as a service gets them (an `undefined` value is left out). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** What the launcher knows of a service (DESIGN.md, section 3). */
export interface StackService {
  readonly name: ServiceName;
  /** The variable the service reads its port from. */
  readonly portVariable: string;
  /** The variable its callers (and the scripts) read its base URL from. */
  readonly urlVariable: string;
  /** Its port when {@link portVariable} is unset. */
  readonly defaultPort: number;
  /** The services it calls; each is started, and ready, before it. */
  readonly upstreams: readonly ServiceName[];
  /**
   * Its own URL is part of its configuration (the auth server names itself as the issuer of
   * its tokens), so its address must be known before it starts: it cannot take port 0.
   */
  readonly knowsOwnUrl: boolean;
}

/**
 * The four services, in the order an operator reads them (and `npm start` restarts them).
 * The start order follows {@link StackService.upstreams}: billing and the filesystem first,
 * then auth (which opens billing accounts), then the backend (which calls all three).
 */
export const STACK_SERVICES: readonly StackService[] = [
  {
    name: 'billing-server',
    portVariable: 'BILLING_SERVER_PORT',
    urlVariable: 'BILLING_SERVER_URL',
    defaultPort: 6004,
    upstreams: [],
    knowsOwnUrl: false,
  },
  {
    name: 'auth-server',
    portVariable: 'AUTH_SERVER_PORT',
    urlVariable: 'AUTH_SERVER_URL',
    defaultPort: 6001,
    upstreams: ['billing-server'],
    knowsOwnUrl: true,
  },
  {
    name: 'filesystem-server',
    portVariable: 'FILESYSTEM_SERVER_PORT',
    urlVariable: 'FILESYSTEM_SERVER_URL',
    defaultPort: 6002,
    upstreams: [],
    knowsOwnUrl: false,
  },
  {
    name: 'backend',
    portVariable: 'BACKEND_PORT',
    urlVariable: 'BACKEND_URL',
    defaultPort: 8000,
    upstreams: ['auth-server', 'billing-server', 'filesystem-server'],
    knowsOwnUrl: false,
  },
];

/** The names of {@link STACK_SERVICES}, in that order. */
export const SERVICE_NAMES: readonly ServiceName[] = STACK_SERVICES.map((service) => service.name);

/** The entry of {@link STACK_SERVICES} for `name`. */
export function stackService(name: ServiceName): StackService {
  const service = STACK_SERVICES.find((candidate) => candidate.name === name);
  if (!service) throw new Error(`unknown service ${String(name)}`);
  return service;
}

/** The base URL of a service on this machine's loopback address. */
export function localUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/**
 * Where `env` says the stack listens, as `npm start` reads it: each service's port variable
 * (else its default port), and the URL variables that send callers elsewhere (a proxy, another
 * host). A URL variable that names the service's default address (as `.env.example` does) is
 * no such thing: moving a service by its port variable alone moves its callers too.
 */
export function addressesFromEnvironment(env: Environment): {
  ports: Record<ServiceName, number>;
  urls: Partial<Record<ServiceName, string>>;
} {
  const ports = {} as Record<ServiceName, number>;
  const urls: Partial<Record<ServiceName, string>> = {};
  for (const service of STACK_SERVICES) {
    const port = env[service.portVariable]?.trim();
    ports[service.name] = port ? Number(port) : service.defaultPort;
    if (!Number.isInteger(ports[service.name]) || ports[service.name] < 0) {
      throw new Error(`${service.portVariable} must be a port number, not "${port}"`);
    }
    const url = env[service.urlVariable]?.trim();
    if (url && url !== localUrl(service.defaultPort)) urls[service.name] = url;
  }
  return { ports, urls };
}

/**
 * The environment of one service: `env`, its port in its own variable, and the URL variable of
 * every service in `urls` (its upstreams, and itself: the auth server names itself as the
 * issuer of its tokens). What the launcher sets wins over `env`.
 */
export function serviceEnvironment(
  name: ServiceName,
  env: Environment,
  port: number,
  urls: Partial<Record<ServiceName, string>>,
): Record<string, string> {
  const wired: Record<string, string | undefined> = {
    ...env,
    [stackService(name).portVariable]: String(port),
  };
  for (const service of STACK_SERVICES) {
    const url = urls[service.name];
    if (url !== undefined) wired[service.urlVariable] = url;
  }
  return definedOnly(wired);
}

/** `env` without its `undefined` entries. */
export function definedOnly(env: Environment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/**
 * The variables a service process may take from its caller's environment (`source`, e.g. the
 * script's own environment): what Node and the shell need to run, never a secret.
 */
export function inheritedEnvironment(
  source: Environment,
  extra: readonly string[] = [],
): Record<string, string> {
  const names = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', ...extra];
  return definedOnly(Object.fromEntries(names.map((name) => [name, source[name]])));
}
