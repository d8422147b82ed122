// What the run ran on, for the report: results are only comparable on the same machine.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** The machine of a run, as results.json keeps it. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly packages: Readonly<Record<string, string>>;
  readonly commit: string;
  readonly loadAverageAtStart: readonly number[];
}

export function describeMachine(root: string): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    packages: versions(root, [
      '@nestjs/core',
      'express',
      'opossum',
      'pino',
      'pg',
      '@electric-sql/pglite',
      'autocannon',
    ]),
    commit: gitCommit(),
    loadAverageAtStart: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

function versions(root: string, names: readonly string[]): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of names) {
    try {
      const manifest = readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8');
      const version: unknown = (JSON.parse(manifest) as { version?: unknown }).version;
      found[name] = typeof version === 'string' ? version : 'unknown';
    } catch {
      found[name] = 'unknown';
    }
  }
  return found;
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return 'unknown';
  }
}
