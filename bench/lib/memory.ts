// Resident memory (RSS) of processes, read from /proc (Linux) or `ps` elsewhere.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MIB = 1024 * 1024;

/** Resident set size of `pid` in MiB, or NaN once it is gone. */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    if (match) return (Number(match[1]) * 1024) / MIB;
  } catch {
    // not Linux, or gone: ask ps
  }
  try {
    const kib = Number(
      execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
        .toString()
        .trim(),
    );
    return Number.isFinite(kib) && kib > 0 ? (kib * 1024) / MIB : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** One reading: each process's RSS in MiB, by name. */
export type RssSample = Record<string, number>;

/** Reads the RSS of every process of `pids` (`{ name: pid }`) every `intervalMs` until stopped. */
export function sampleRss(
  pids: Readonly<Record<string, number>>,
  intervalMs = 100,
): { stop(): RssSample[] } {
  const samples: RssSample[] = [];
  const take = (): number =>
    samples.push(
      Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, rssMiB(pid)])),
    );
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop(): RssSample[] {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}
