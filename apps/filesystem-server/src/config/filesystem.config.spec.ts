import { ConfigError } from '@zt/service-utils';
import { join, resolve } from 'node:path';
import { loadFilesystemConfig } from './filesystem.config';

const TOKEN = 'q3V9sLk2Xw8RzT1mN6pB4yH7cJ0dF5gA';

function refusal(env: Record<string, string | undefined>): ConfigError {
  try {
    loadFilesystemConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe(loadFilesystemConfig.name, () => {
  it('defaults to port 6002, 10 MiB per file, 100 MiB per user, DATA_DIR/filesystem-server', () => {
    const sut = loadFilesystemConfig({ INTERNAL_SERVICE_TOKEN: TOKEN });
    expect(sut.service.port).toBe(6002);
    expect(sut.service.name).toBe('filesystem-server');
    expect(sut.service.dataDir).toBe(join(resolve('./data'), 'filesystem-server'));
    expect(sut.maxFileBytes).toBe(10 * 1024 * 1024);
    expect(sut.maxUserBytes).toBe(100 * 1024 * 1024);
    expect(sut.internalAuth.acceptedTokens).toEqual([TOKEN]);
  });

  it('keeps write journal records 30 days by default, FS_WRITE_JOURNAL_DAYS when given', () => {
    expect(loadFilesystemConfig({ INTERNAL_SERVICE_TOKEN: TOKEN }).writeJournalDays).toBe(30);
    for (const days of [1, 3650]) {
      const sut = loadFilesystemConfig({
        INTERNAL_SERVICE_TOKEN: TOKEN,
        FS_WRITE_JOURNAL_DAYS: String(days),
      });
      expect(sut.writeJournalDays).toBe(days);
    }
  });

  it('reads FILESYSTEM_SERVER_PORT, DATA_DIR and both limits', () => {
    const sut = loadFilesystemConfig({
      INTERNAL_SERVICE_TOKEN: TOKEN,
      FILESYSTEM_SERVER_PORT: '0',
      DATA_DIR: '/srv/state',
      FS_MAX_FILE_BYTES: '1024',
      FS_MAX_USER_BYTES: '4096',
    });
    expect(sut.service.port).toBe(0);
    expect(sut.service.dataDir).toBe('/srv/state/filesystem-server');
    expect(sut.maxFileBytes).toBe(1024);
    expect(sut.maxUserBytes).toBe(4096);
  });

  it.each([
    ['FS_MAX_FILE_BYTES', '0'],
    ['FS_MAX_FILE_BYTES', '-1'],
    ['FS_MAX_FILE_BYTES', '10MB'],
    ['FS_MAX_FILE_BYTES', '1.5'],
    ['FS_MAX_USER_BYTES', '0'],
    ['FS_MAX_USER_BYTES', 'lots'],
    ['FS_MAX_USER_BYTES', String(2 ** 53)],
    ['FS_WRITE_JOURNAL_DAYS', '0'],
    ['FS_WRITE_JOURNAL_DAYS', '3651'],
    ['FS_WRITE_JOURNAL_DAYS', '7d'],
    ['FILESYSTEM_SERVER_PORT', '70000'],
  ])('refuses %s=%s with an error naming the variable', (variable, value) => {
    const error = refusal({ INTERNAL_SERVICE_TOKEN: TOKEN, [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable} `));
  });

  it('refuses to start without the internal token', () => {
    expect(refusal({}).variable).toBe('INTERNAL_SERVICE_TOKEN');
  });
});
