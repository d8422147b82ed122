// What every scenario gets from the runner (run.ts), and what it gives back.
import type { ProcessGroup } from './processes';
import type { PostgresFound, ScratchDatabases } from './postgres';
import type { Settings } from './report';
import type { ScenarioResult } from './result';

export interface BenchContext {
  readonly group: ProcessGroup;
  readonly settings: Settings;
  /** The internal token of this run's services and fixtures. */
  readonly token: string;
  readonly postgres: PostgresFound;
  /** Set when {@link postgres} was found. */
  readonly scratch: ScratchDatabases | undefined;
  /** This run's scratch folder. */
  readonly tmp: string;
  readonly log: (message: string) => void;
  readonly paths: {
    readonly root: string;
    /** A fixture of bench/fixtures, by file name. */
    readonly fixture: (name: string) => string;
    /** A fixture built from bench/src into dist/bench, by file name. */
    readonly built: (name: string) => string;
  };
}

/** A group of scenarios (`--only <GROUP>`). */
export interface Scenario {
  readonly GROUP: string;
  run(ctx: BenchContext): Promise<ScenarioResult[]>;
}

/** A scratch database of this run; only called once PostgreSQL was found. */
export function scratchDatabase(ctx: BenchContext): Promise<string> {
  if (!ctx.scratch) throw new Error('no PostgreSQL: this scenario should have been skipped');
  return ctx.scratch.create();
}
