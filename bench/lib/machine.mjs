// What the run ran on, for the report: results are only comparable on the same machine.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export function describeMachine(root) {
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

function versions(root, names) {
  const found = {};
  for (const name of names) {
    try {
      const manifest = readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8');
      found[name] = JSON.parse(manifest).version;
    } catch {
      found[name] = 'unknown';
    }
  }
  return found;
}

function gitCommit() {
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
