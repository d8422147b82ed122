// The shape of a scenario's entry in the results JSON (see docs/benchmarks/README.md).
import {
  type ComparisonMetrics,
  judge,
  type JudgedTarget,
  type RoundEntry,
  type Target,
} from './compare';
import type { Spread } from './stats';

/** One side of a comparison, as the report names it. */
export interface SideLabel {
  readonly label: string;
  readonly request: string;
}

/** How a comparison was loaded; scenarios may add facts of their own (accounts, database). */
export interface ComparisonLoad {
  readonly tool: string;
  readonly connections: number;
  readonly rounds: number;
  readonly secondsPerSide: number;
  readonly sliceSeconds: number;
  readonly warmupSeconds: number;
  readonly [more: string]: string | number;
}

/** What a scenario is, before it is measured. */
export interface ScenarioDefinition {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly kind?: 'comparison' | 'memory' | 'rate' | 'count';
  readonly counter?: CountResult['counter'];
  readonly baseline?: SideLabel;
  readonly subject?: SideLabel;
  readonly load?: ComparisonLoad;
  readonly target?: Target;
  readonly notes?: string;
}

/** A comparison's definition: both sides named. */
export interface ComparisonDefinition extends ScenarioDefinition {
  readonly baseline: SideLabel;
  readonly subject: SideLabel;
  readonly load: ComparisonLoad;
}

export interface ComparisonResult {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly kind: 'comparison';
  readonly status: 'ok';
  readonly baseline: SideLabel;
  readonly subject: SideLabel;
  readonly load: ComparisonLoad;
  readonly notes?: string;
  readonly rounds: readonly RoundEntry[];
  readonly metrics: ComparisonMetrics;
  readonly target?: JudgedTarget;
}

/** Resident memory of one service, MiB. */
export interface ServiceMemory {
  readonly idleMiB: Spread;
  readonly loadPeakMiB: Spread;
  readonly restartIdleMiB?: Spread;
}

/** Requests per second and failures of one route in a window of load. */
export interface WindowAnswers {
  readonly rps: number;
  readonly non2xx: number;
  readonly errors: number;
}

export type MemoryMetrics = {
  readonly idleTotalMiB: Spread;
  readonly loadPeakTotalMiB: Spread;
  readonly restartIdleTotalMiB?: Spread;
};

export interface MemoryResult {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly kind: 'memory';
  readonly status: 'ok';
  readonly baseline?: undefined;
  readonly subject?: undefined;
  readonly notes?: undefined;
  readonly load: {
    readonly idle: string;
    readonly underLoad: string;
    readonly windows: ReadonlyArray<Readonly<Record<string, WindowAnswers>>>;
  };
  readonly metrics: MemoryMetrics;
  readonly services: Readonly<Record<string, ServiceMemory>>;
  readonly target: JudgedTarget;
}

/** The service tokens a service put on its outgoing calls, by source (its token cache's counts). */
export type TokenCounts = Readonly<Record<'cached' | 'fetched' | 'stale' | 'failed', number>>;

/**
 * A rate read from a service's own counters under load (not a comparison): the token cache's
 * hit rate, cached / (cached + fetched + stale + failed).
 */
export interface RateResult {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly kind: 'rate';
  readonly status: 'ok';
  readonly baseline?: undefined;
  readonly subject?: undefined;
  readonly notes?: string;
  readonly load: {
    readonly mode: string;
    readonly database: string;
    readonly underLoad: string;
    readonly windows: ReadonlyArray<Readonly<Record<string, WindowAnswers>>>;
  };
  /** `hitRate`: over the windows, each window's counts (the difference of two scrapes). */
  readonly metrics: { readonly hitRate: Spread };
  /** The counts of the whole run (set-up included), from the last scrape. */
  readonly counts: TokenCounts;
  readonly target?: undefined;
}

/**
 * A count per operation read from a service's own counters (not a comparison): the database
 * round trips of one deduct, from the billing server's `/metrics`, or the bytes a process
 * allocates per request, from the allocation probe preloaded into it.
 */
export interface CountResult {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly kind: 'count';
  /** What is counted (results written before there were two: round trips). */
  readonly counter?: 'round-trips' | 'allocation';
  readonly status: 'ok';
  readonly baseline?: undefined;
  readonly subject?: undefined;
  readonly notes?: string;
  readonly load: {
    readonly database: string;
    /** What one window sent, e.g. `20 x POST /deduct, each with a new Idempotency-Key`. */
    readonly window: string;
    readonly windows: number;
  };
  /** `perOperation`: over the windows, each window's counted / operations (two scrapes). */
  readonly metrics: { readonly perOperation: Spread };
  /** The totals over every window. */
  readonly counts: { readonly operations: number; readonly counted: number };
  readonly target?: JudgedTarget;
}

export interface SkippedResult {
  readonly id: string;
  readonly group: string;
  readonly title: string;
  readonly kind: 'comparison' | 'memory' | 'rate' | 'count';
  readonly counter?: CountResult['counter'];
  readonly status: 'skipped';
  readonly reason: string;
  readonly baseline?: SideLabel;
  readonly subject?: SideLabel;
  readonly load?: undefined;
  readonly notes?: undefined;
  readonly target?: Target;
}

/** One entry of results.json's `scenarios`. */
export type ScenarioResult =
  ComparisonResult | MemoryResult | RateResult | CountResult | SkippedResult;

/**
 * A finished comparison: what was compared, how it was loaded, every round, the metrics
 * (median and min-max of the rounds) and the target judged on the median.
 */
export function comparisonResult(
  definition: ComparisonDefinition,
  measured: { rounds: readonly RoundEntry[]; metrics: ComparisonMetrics },
): ComparisonResult {
  return {
    id: definition.id,
    group: definition.group,
    title: definition.title,
    kind: 'comparison',
    status: 'ok',
    baseline: definition.baseline,
    subject: definition.subject,
    load: definition.load,
    notes: definition.notes,
    rounds: measured.rounds,
    metrics: measured.metrics,
    target: judge(definition.target, measured.metrics),
  };
}

/** A scenario that could not run here (e.g. no PostgreSQL), and why. */
export function skippedResult(definition: ScenarioDefinition, reason: string): SkippedResult {
  return {
    id: definition.id,
    group: definition.group,
    title: definition.title,
    kind: definition.kind ?? 'comparison',
    ...(definition.counter === undefined ? {} : { counter: definition.counter }),
    status: 'skipped',
    reason,
    baseline: definition.baseline,
    subject: definition.subject,
    target: definition.target,
  };
}
