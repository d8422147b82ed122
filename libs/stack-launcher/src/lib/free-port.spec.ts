import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from './free-port';

const RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';
/** Where the kernel's ephemeral range starts (Linux), if this machine says. */
const ephemeralStart = existsSync(RANGE_FILE)
  ? Number(readFileSync(RANGE_FILE, 'utf8').split(/\s+/)[0])
  : undefined;

function listen(port: number): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve(() => new Promise((closed) => server.close(() => closed()))),
    );
  });
}

describe(freePort.name, () => {
  it('gives a port that can be listened on', async () => {
    const close = await listen(await freePort());
    await close();
  });

  // Linux with room below its ephemeral range (CI's machines: 32768); elsewhere the kernel
  // chooses, as before.
  (ephemeralStart !== undefined && ephemeralStart > 15_001 ? it : it.skip)(
    'draws it below the kernel ephemeral range, where listen(0) and outgoing connections take theirs',
    async () => {
      for (let call = 0; call < 20; call += 1) {
        const port = await freePort();
        expect(port).toBeGreaterThanOrEqual(15_000);
        expect(port).toBeLessThan(ephemeralStart ?? 0);
      }
    },
  );
});
