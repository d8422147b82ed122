// Bytes a process allocates on V8's heap per request: the allocation probe preloaded into it
// (bench/src/allocation-probe.ts) counts them over a window of load opened and closed by
// SIGWINCH, and writes them to a file this reads.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceProcess } from '@zt/stack-launcher';
import type { BenchContext } from './context';

/** What the probe writes at the end of a window. */
export interface AllocationWindow {
  readonly allocatedBytes: number;
  /** Garbage collections in the window, and their pauses in all. */
  readonly collections: number;
  readonly pauseMs: number;
}

/** The probe for one process: what to start it with, and how to read a window of it. */
export class AllocationProbe {
  readonly #file: string;
  readonly #probe: string;

  /**
   * @param tmp a scratch folder, where the probe of `name` writes
   * @param probe the built probe (`dist/bench/allocation-probe.js`)
   */
  constructor(tmp: string, name: string, probe: string) {
    this.#file = join(tmp, `allocation-${name}.json`);
    this.#probe = probe;
  }

  /** The probe of `name` in a bench run. */
  static of(ctx: BenchContext, name: string): AllocationProbe {
    return new AllocationProbe(ctx.tmp, name, ctx.paths.built('allocation-probe.js'));
  }

  /** Options for the probed process's `node`. */
  get nodeArgs(): string[] {
    return ['--require', this.#probe];
  }

  /** Variables for the probed process. */
  get env(): Record<string, string> {
    return { ALLOCATION_PROBE_FILE: this.#file };
  }

  /**
   * Opens a window in `server`, runs `load` (which resolves with the requests it had
   * answered), closes the window, and returns the window with those requests.
   */
  async measure(
    server: ServiceProcess,
    load: () => Promise<number>,
  ): Promise<AllocationWindow & { readonly requests: number }> {
    rmSync(this.#file, { force: true });
    await this.#signal(server, (written) => written['started'] === true);
    const requests = await load();
    const window = await this.#signal(server, (written) => 'allocatedBytes' in written);
    return { ...(window as unknown as AllocationWindow), requests };
  }

  /** Sends SIGWINCH and waits until the probe has written what `done` recognises. */
  async #signal(
    server: ServiceProcess,
    done: (written: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>> {
    process.kill(server.pid, 'SIGWINCH');
    for (let waited = 0; waited < 10_000; waited += 10) {
      const written = this.#read();
      if (written && done(written)) return written;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${server.name}: the allocation probe did not answer (is it preloaded?)`);
  }

  /** What the probe last wrote; undefined before it wrote, or while it is writing. */
  #read(): Record<string, unknown> | undefined {
    if (!existsSync(this.#file)) return undefined;
    try {
      return JSON.parse(readFileSync(this.#file, 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}
