import {
  builtServiceMain,
  generateToken,
  request,
  type ServiceProcess,
  startServiceProcess,
} from '@zt/test-kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REQUESTS = 400;

interface RequestLine {
  readonly msg?: string;
  readonly request_id?: string;
  readonly res?: { readonly status_code?: number };
}

// With LOG_WRITES=buffered, lines are written in the background: what is still buffered when
// the service is stopped must reach its output all the same (and with sync, the default).
describe.each(['buffered', 'sync'])('request lines with LOG_WRITES=%s', (writes) => {
  let dataDir: string;
  let service: ServiceProcess | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'log-flush-'));
  });
  afterAll(async () => {
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes the line of every request answered before SIGTERM, then exits 0', async () => {
    const token = generateToken();
    service = await startServiceProcess({
      main: builtServiceMain('filesystem-server'),
      env: {
        INTERNAL_SERVICE_TOKEN: token,
        FILESYSTEM_SERVER_PORT: '0',
        DATA_DIR: dataDir,
        LOG_WRITES: writes,
      },
    });
    const url = service.url;
    const ids = Array.from({ length: REQUESTS }, (_, index) => `log-flush-${index}`);
    const statuses = await Promise.all(
      ids.map(
        async (id) =>
          (
            await request(`${url}/files/missing.txt`, {
              headers: { 'X-INTERNAL-TOKEN': token, 'X-User-ID': 'flush-user', 'X-Request-ID': id },
            })
          ).status,
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([404]));

    // Stopped at once: the last lines may still be in the buffer.
    expect(await service.stop()).toEqual({ code: 0, signal: null, graceful: true });
    const logged = service
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as RequestLine)
      .filter((line) => line.msg === 'request completed' && line.res?.status_code === 404)
      .map((line) => line.request_id);
    expect(new Set(logged)).toEqual(new Set(ids));
    expect(logged).toHaveLength(REQUESTS);
  });
});
