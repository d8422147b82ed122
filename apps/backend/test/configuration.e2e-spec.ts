import { builtServiceMain, generateToken, runServiceToExit } from '@zt/test-kit';

describe('the backend at start-up', () => {
  it('refuses an upload budget below the largest upload: exits 1 with one line naming it', async () => {
    const result = await runServiceToExit({
      main: builtServiceMain('backend'),
      env: {
        INTERNAL_SERVICE_TOKEN: generateToken(),
        BACKEND_PORT: '0',
        BACKEND_MAX_FILE_BYTES: '8192',
        BACKEND_UPLOAD_BUDGET_BYTES: '8191',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'configuration error: BACKEND_UPLOAD_BUDGET_BYTES must be at least the largest upload, ' +
        "8192 bytes (BACKEND_MAX_FILE_BYTES, else FS_MAX_FILE_BYTES; the budget's default is 67108864)",
    );
    expect(result.stdout).not.toContain('listening');
  });
});
