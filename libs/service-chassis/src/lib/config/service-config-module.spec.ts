import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { ConfigError, type Environment, readInteger, readString } from '@zt/service-utils';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineServiceConfig, loadServiceConfigModule } from './service-config-module';

interface ProbeConfig {
  readonly greeting: string;
  readonly port: number;
}

const PROBE_CONFIG = defineServiceConfig('probe-service', (env: Environment): ProbeConfig => ({
  greeting: readString(env, 'ZT_PROBE_GREETING', 'hello'),
  port: readInteger(env, 'ZT_PROBE_PORT', 1, { min: 1, max: 10 }),
}));

@Injectable()
class ConfigReader {
  constructor(
    @Inject(PROBE_CONFIG.KEY) readonly typed: ProbeConfig,
    readonly configService: ConfigService,
  ) {}
}

describe(loadServiceConfigModule.name, () => {
  let folder: string;
  let environmentBefore: NodeJS.ProcessEnv;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'config-module-'));
    // ConfigModule copies the env file's variables into process.env: put it back afterwards.
    environmentBefore = { ...process.env };
  });

  afterEach(() => {
    for (const name of Object.keys(process.env)) {
      if (!(name in environmentBefore)) delete process.env[name];
    }
    Object.assign(process.env, environmentBefore);
    rmSync(folder, { recursive: true, force: true });
  });

  it('reads .env in the working directory and makes the typed object injectable', async () => {
    writeFileSync(join(folder, '.env'), 'ZT_PROBE_GREETING=from-file\nZT_PROBE_PORT=7\n');

    const sut = await loadServiceConfigModule(PROBE_CONFIG, {}, folder);

    expect(sut.config).toEqual({ greeting: 'from-file', port: 7 });
    const moduleRef = await Test.createTestingModule({
      imports: [sut.configModule],
      providers: [ConfigReader],
    }).compile();
    const reader = moduleRef.get(ConfigReader);
    expect(reader.typed).toBe(sut.config);
    expect(reader.configService.get('probe-service')).toBe(sut.config);
    expect(reader.configService.get('ZT_PROBE_PORT')).toBe('7');
    await moduleRef.close();
  });

  it('lets the process environment win over .env, even with an empty value', async () => {
    writeFileSync(join(folder, '.env'), 'ZT_PROBE_GREETING=from-file\nZT_PROBE_PORT=7\n');
    process.env['ZT_PROBE_GREETING'] = 'from-environment';
    process.env['ZT_PROBE_PORT'] = '';

    const sut = await loadServiceConfigModule(PROBE_CONFIG, {}, folder);

    // An empty variable counts as set (it wins), and the loader reads empty as its default.
    expect(sut.config).toEqual({ greeting: 'from-environment', port: 1 });
  });

  it('runs on the process environment alone when there is no .env (a container)', async () => {
    process.env['ZT_PROBE_PORT'] = '3';

    const sut = await loadServiceConfigModule(PROBE_CONFIG, {}, folder);

    expect(sut.config).toEqual({ greeting: 'hello', port: 3 });
  });

  it('reads the file ENV_FILE names, relative to the working directory, instead of .env', async () => {
    writeFileSync(join(folder, '.env'), 'ZT_PROBE_GREETING=from-dot-env\n');
    mkdirSync(join(folder, 'etc'));
    writeFileSync(join(folder, 'etc', 'probe.env'), 'ZT_PROBE_GREETING=from-env-file\n');

    const sut = await loadServiceConfigModule(PROBE_CONFIG, { ENV_FILE: 'etc/probe.env' }, folder);

    expect(sut.config.greeting).toBe('from-env-file');
  });

  it('refuses an ENV_FILE that names no file, naming ENV_FILE', async () => {
    const loading = loadServiceConfigModule(PROBE_CONFIG, { ENV_FILE: 'missing.env' }, folder);

    await expect(loading).rejects.toThrow(ConfigError);
    await expect(loading).rejects.toMatchObject({
      variable: 'ENV_FILE',
      message: 'ENV_FILE names a file that does not exist',
    });
  });

  it('refuses a bad value from .env with the loader error naming the variable', async () => {
    writeFileSync(join(folder, '.env'), 'ZT_PROBE_PORT=eleven\n');

    const loading = loadServiceConfigModule(PROBE_CONFIG, {}, folder);

    await expect(loading).rejects.toMatchObject({
      variable: 'ZT_PROBE_PORT',
      message: 'ZT_PROBE_PORT must be a whole number between 1 and 10',
    });
  });
});
