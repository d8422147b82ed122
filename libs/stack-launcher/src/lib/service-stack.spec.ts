import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';
import type { ProcessExit } from './launched-process';
import { launchStack, startWaves } from './service-stack';
import { inheritedEnvironment, type ServiceName } from './stack-services';

const FAKE = join(__dirname, '..', 'testing', 'fake-service.mjs');

async function wiring(url: string): Promise<Record<string, string> & { started: number }> {
  return (await fetch(`${url}/env`)).json() as Promise<
    Record<string, string> & { started: number }
  >;
}

describe(launchStack.name, () => {
  const options = {
    env: { ...inheritedEnvironment(process.env), SHARED: 'everyone' },
    main: () => FAKE,
  };

  it('starts each service after the ones it calls, wired to them, and stops callers first', async () => {
    const exits: string[] = [];
    const sut = await launchStack({
      ...options,
      serviceEnv: { 'auth-server': { FAKE_READY_AFTER_MS: '300' } },
      urls: { 'filesystem-server': 'http://proxy.test' },
      onExit: (name, _exit, expected) => exits.push(`${name} ${expected}`),
    });
    const seen = Object.fromEntries(
      await Promise.all(
        sut.services.map(async (name) => [name, await wiring(sut.process(name).url)] as const),
      ),
    );
    const billing = sut.process('billing-server').url;
    const auth = sut.process('auth-server').url;
    expect(sut.urls).toEqual({
      'billing-server': billing,
      'auth-server': auth,
      'filesystem-server': 'http://proxy.test',
      backend: sut.process('backend').url,
    });
    expect(seen['backend']).toMatchObject({
      SHARED: 'everyone',
      // Nobody needs its address before it starts: any free port.
      BACKEND_PORT: '0',
      AUTH_SERVER_URL: auth,
      BILLING_SERVER_URL: billing,
      FILESYSTEM_SERVER_URL: 'http://proxy.test',
    });
    // The auth server names itself as its tokens' issuer, so its port is chosen for it; its
    // own environment is its own.
    expect(seen['auth-server']).toMatchObject({
      AUTH_SERVER_PORT: new URL(auth).port,
      AUTH_SERVER_URL: auth,
      FAKE_READY_AFTER_MS: '300',
    });
    expect(seen['billing-server']).not.toHaveProperty('FAKE_READY_AFTER_MS');
    // Auth waits for billing; the backend for auth (which took 300 ms to be ready).
    expect(seen['auth-server'].started).toBeGreaterThanOrEqual(seen['billing-server'].started);
    expect(seen['backend'].started - seen['auth-server'].started).toBeGreaterThanOrEqual(300);

    await sut.stopAll();
    expect(exits[0]).toBe('backend true');
    expect(exits[1]).toBe('auth-server true');
    expect(exits.slice(2).sort()).toEqual(['billing-server true', 'filesystem-server true']);
  });

  it('kills, starts and restarts one service on its port, and tells a crash from a stop', async () => {
    const exits: Array<[ServiceName, ProcessExit, boolean]> = [];
    const sut = await launchStack({
      ...options,
      services: ['billing-server', 'auth-server'],
      onExit: (name, exit, expected) => exits.push([name, exit, expected]),
    });
    try {
      const billing = sut.process('billing-server').url;
      expect(await sut.kill('billing-server')).toEqual({ code: null, signal: 'SIGKILL' });
      await sut.start('billing-server');
      await sut.restart('billing-server', { ...options.env, SHARED: 'changed' });
      expect(sut.process('billing-server').url).toBe(billing);
      expect(sut.processes('billing-server')).toHaveLength(3);
      expect(await wiring(billing)).toMatchObject({ SHARED: 'changed' });
      await expect(sut.start('billing-server')).rejects.toThrow(
        'billing-server is running already',
      );

      await fetch(`${sut.process('auth-server').url}/crash`);
      await sut.process('auth-server').exited;
      expect(exits).toEqual([
        ['billing-server', { code: null, signal: 'SIGKILL' }, true],
        ['billing-server', { code: 0, signal: null }, true],
        ['auth-server', { code: 1, signal: null }, false],
      ]);
    } finally {
      await sut.stopAll();
    }
    await expect(sut.start('auth-server')).rejects.toThrow('the stack is stopping');
  });

  it('stops what it started and throws when a service does not start', async () => {
    const started: number[] = [];
    const launching = launchStack({
      ...options,
      services: ['billing-server', 'filesystem-server', 'auth-server'],
      serviceEnv: { 'auth-server': { FAKE_EXIT_AT_START: '1' } },
      onStart: (_name, process) => started.push(process.pid),
    });
    await expect(launching).rejects.toThrow(/^auth-server exited \(code 1, signal null\)/);
    expect(started).toHaveLength(3);
    for (const pid of started) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe(`${launchStack.name} and ports`, () => {
  it('gives a service whose chosen port was taken meanwhile another one', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'launcher-spec-'));
    const sut = await launchStack({
      env: inheritedEnvironment(process.env),
      main: () => FAKE,
      services: ['auth-server'],
      serviceEnv: { 'auth-server': { FAKE_PORT_TAKEN_ONCE: join(folder, 'taken') } },
    });
    try {
      expect(sut.processes('auth-server').map((process) => process.running)).toEqual([false, true]);
      expect(sut.urls['auth-server']).toBe(sut.process('auth-server').url);
    } finally {
      await sut.stopAll();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('starts again, on another port, a stack whose auth server lost the port its callees were told', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'launcher-spec-'));
    const spawned: Array<[ServiceName, number]> = [];
    // The issuer each billing process was told, read while it runs.
    const toldIssuer: Array<Promise<string>> = [];
    const sut = await launchStack({
      // With service identity every service is told the auth server's URL before it starts.
      env: { ...inheritedEnvironment(process.env), INTERNAL_AUTH_MODE: 'jwt' },
      main: () => FAKE,
      services: ['billing-server', 'auth-server'],
      serviceEnv: { 'auth-server': { FAKE_PORT_TAKEN_ONCE: join(folder, 'taken') } },
      logDir: folder,
      onStart: (name, process) => spawned.push([name, process.pid]),
      onReady: (name, process) => {
        if (name === 'billing-server') {
          toldIssuer.push(wiring(process.url).then((env) => env['AUTH_SERVER_URL']));
        }
      },
    });
    try {
      expect(spawned.map(([name]) => name)).toEqual([
        'billing-server',
        'auth-server',
        'billing-server',
        'auth-server',
      ]);
      for (const [, pid] of spawned.slice(0, 2)) expect(() => process.kill(pid, 0)).toThrow();
      const auth = sut.process('auth-server').url;
      expect(sut.urls['auth-server']).toBe(auth);
      const [first, second] = await Promise.all(toldIssuer);
      expect(second).toBe(auth);
      expect(first).not.toBe(auth);
      // The first attempt's output is kept beside the second's, its EADDRINUSE included.
      expect(
        readdirSync(folder)
          .filter((file) => file.endsWith('.log'))
          .sort(),
      ).toEqual([
        '1-billing-server.log',
        '2-auth-server.log',
        '3-billing-server.log',
        '4-auth-server.log',
      ]);
      expect(readFileSync(join(folder, '2-auth-server.log'), 'utf8')).toContain('EADDRINUSE');
    } finally {
      await sut.stopAll();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('does not move a port it was given: a taken one fails the launch', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'launcher-spec-'));
    const launching = launchStack({
      env: { ...inheritedEnvironment(process.env), INTERNAL_AUTH_MODE: 'jwt' },
      main: () => FAKE,
      services: ['billing-server', 'auth-server'],
      ports: { 'auth-server': await freePort() },
      serviceEnv: { 'auth-server': { FAKE_PORT_TAKEN_ONCE: join(folder, 'taken') } },
    });
    try {
      await expect(launching).rejects.toThrow(/^auth-server exited .*EADDRINUSE/s);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('keeps a port it was given, and the port a service took, across restarts', async () => {
    const sut = await launchStack({
      env: inheritedEnvironment(process.env),
      main: () => FAKE,
      services: ['billing-server', 'filesystem-server'],
      ports: { 'billing-server': await freePort() },
    });
    try {
      const before = [sut.urls['billing-server'], sut.urls['filesystem-server']];
      await sut.restart('billing-server');
      await sut.restart('filesystem-server');
      expect([sut.urls['billing-server'], sut.urls['filesystem-server']]).toEqual(before);
      expect(sut.process('filesystem-server').url).toBe(before[1]);
    } finally {
      await sut.stopAll();
    }
  });
});

describe(`${launchStack.name} with an abort signal`, () => {
  it('stops what it started when aborted while starting, and rejects', async () => {
    const aborted = new AbortController();
    const pids: number[] = [];
    const launching = launchStack({
      env: inheritedEnvironment(process.env),
      main: () => FAKE,
      services: ['billing-server', 'auth-server'],
      serviceEnv: { 'auth-server': { FAKE_READY_AFTER_MS: '600000' } },
      signal: aborted.signal,
      onStart: (name, process) => {
        pids.push(process.pid);
        if (name === 'auth-server') aborted.abort();
      },
    });
    await expect(launching).rejects.toThrow(
      /^auth-server exited \(code \S+, signal \S+\) before it was ready/,
    );
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe(startWaves.name, () => {
  it('groups the services by start order', () => {
    expect(startWaves(['backend', 'auth-server', 'filesystem-server', 'billing-server'])).toEqual([
      ['billing-server', 'filesystem-server'],
      ['auth-server'],
      ['backend'],
    ]);
    expect(startWaves(['backend', 'billing-server'])).toEqual([['billing-server'], ['backend']]);
  });
});
