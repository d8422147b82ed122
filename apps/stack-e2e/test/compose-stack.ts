import { freePort, generateToken, StackCredentials, workspaceRoot } from '@zt/test-kit';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DockerComposeEnvironment,
  type StartedDockerComposeEnvironment,
  Wait,
} from 'testcontainers';

/** The compose services, and the variable that publishes each HTTP one on the host. */
export const COMPOSE_SERVICES = {
  postgres: undefined,
  'billing-server': 'BILLING_SERVER_PUBLISHED_PORT',
  'auth-server': 'AUTH_SERVER_PUBLISHED_PORT',
  'filesystem-server': 'FILESYSTEM_SERVER_PUBLISHED_PORT',
  backend: 'BACKEND_PUBLISHED_PORT',
} as const;

export type ComposeService = keyof typeof COMPOSE_SERVICES;

/**
 * Why `docker compose` cannot run here, or undefined when it can: the suite needs an engine
 * (DOCKER_HOST, or the default socket) and the compose CLI, as `.ci/docker-engine.sh` sets up.
 */
export function composeUnavailableReason(): string | undefined {
  if (spawnSync('docker', ['version'], { stdio: 'ignore' }).status !== 0) {
    return 'no Docker engine answers (DOCKER_HOST)';
  }
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status !== 0) {
    return '`docker compose` is not available';
  }
  return undefined;
}

/** The compose stack of docker-compose.yml, up and healthy, in a project of its own. */
export interface ComposeStack {
  /** The compose project name: every container, volume and network carries it. */
  readonly project: string;
  /** The variables of its fresh `.env` (the mode, secrets and published ports). */
  readonly env: Readonly<Record<string, string>>;
  /** Its internal credentials: what a test sends to call an internal route as a client. */
  readonly credentials: StackCredentials;
  /** That `.env` file (removed by {@link ComposeStack.down}). */
  readonly envFile: string;
  /** The host URL of each published service, e.g. `http://127.0.0.1:41234`. */
  readonly urls: Readonly<Record<Exclude<ComposeService, 'postgres'>, string>>;
  readonly environment: StartedDockerComposeEnvironment;
  /** The id of a service's container (the running one, or the last that ran). */
  containerId(service: ComposeService): string;
  /** Runs `docker` with these arguments and returns what it printed on standard output. */
  docker(args: readonly string[]): string;
  /**
   * `docker stop --time 5` of a service's container, or `docker start`. Not through the
   * synchronous {@link docker}: a stop takes seconds, and an event loop frozen that long
   * misses that the server closed an idle kept-alive connection, which the next request
   * then reuses ("other side closed").
   */
  stopService(service: ComposeService): Promise<void>;
  startService(service: ComposeService): Promise<void>;
  /** Everything a service's container wrote, standard output and error together. */
  logs(service: ComposeService): string;
  /** Stops the stack; removes its containers, networks, volumes, image tags and scratch folder. */
  down(): Promise<void>;
}

/**
 * Brings docker-compose.yml up as an operator would (`docker compose up --build` with a fresh
 * `.env` of generated secrets, as `npm start` writes it: the shared token and every client's
 * secret), in `INTERNAL_AUTH_MODE=mode` on `HTTP_ADAPTER=httpAdapter`, through testcontainers,
 * on free host ports, and waits until every container's own health check passes. The base
 * images come from NODE_IMAGE and POSTGRES_IMAGE when set (stand-ins on machines that cannot
 * pull the official ones).
 */
export async function startComposeStack(
  mode: StackCredentials['mode'] = 'token',
  httpAdapter: 'express' | 'fastify' = 'express',
): Promise<ComposeStack> {
  const project = `zt-compose-${randomBytes(4).toString('hex')}`;
  const scratch = mkdtempSync(join(tmpdir(), 'compose-stack-'));
  const envFile = join(scratch, '.env');
  const credentials = new StackCredentials(mode);
  const env: Record<string, string> = {
    ...credentials.environment(),
    HTTP_ADAPTER: httpAdapter,
    POSTGRES_PASSWORD: generateToken(),
  };
  const urls: Record<string, string> = {};
  for (const [service, variable] of Object.entries(COMPOSE_SERVICES)) {
    if (!variable) continue;
    const port = await freePort();
    env[variable] = String(port);
    urls[service] = `http://127.0.0.1:${port}`;
  }
  writeFileSync(
    envFile,
    Object.entries(env)
      .map(([name, value]) => `${name}=${value}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );

  const docker = (args: readonly string[]) =>
    execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  const containerId = (service: ComposeService) =>
    docker([
      'ps',
      '--all',
      '--quiet',
      '--latest',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      `label=com.docker.compose.service=${service}`,
    ]);

  const environment = await new DockerComposeEnvironment(workspaceRoot(), 'docker-compose.yml')
    .withProjectName(project)
    .withBuild()
    .withEnvironmentFile(envFile)
    // The shell's own variables reach compose too; the fresh .env must win over them.
    .withEnvironment(env)
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(180_000)
    .up()
    .catch((error: unknown) => {
      rmSync(scratch, { recursive: true, force: true });
      throw error;
    });

  return {
    project,
    env,
    credentials,
    envFile,
    urls: urls as ComposeStack['urls'],
    environment,
    containerId,
    docker,
    async stopService(service) {
      await promisify(execFile)('docker', ['stop', '--time', '5', containerId(service)]);
    },
    async startService(service) {
      await promisify(execFile)('docker', ['start', containerId(service)]);
    },
    logs(service) {
      const result = spawnSync('docker', ['logs', containerId(service)], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`docker logs ${service} failed: ${result.stderr}`);
      return result.stdout + result.stderr;
    },
    async down() {
      try {
        await environment.down({ removeVolumes: true, timeout: 10_000 });
        // The project's image tags too; --no-prune keeps their layers as the build cache.
        const images = docker(['images', '--quiet', '--filter', `reference=${project}*`]);
        if (images) docker(['rmi', '--force', '--no-prune', ...new Set(images.split('\n'))]);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}
