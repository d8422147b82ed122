// Baseline against subject, in alternating rounds, reported as ratios of the same round.
import { assertMostlyOk, type Measurement } from './load';
import { round, Samples, type Spread, summarize } from './stats';

/** Loads one side for `seconds` and reports what it answered. */
export type SideRun = (seconds: number) => Promise<Measurement>;

/** What one side did in one round. */
export interface SideResult {
  readonly rps: number;
  readonly count: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** One round of a comparison, as results.json keeps it. */
export interface RoundEntry {
  readonly slices: number;
  readonly baseline: SideResult;
  readonly subject: SideResult;
  readonly ratio: number;
  readonly p50DiffMs: number;
  readonly p99DiffMs: number;
}

/**
 * The metrics of a comparison, each `{ median, min, max }` over its rounds (a type, not an
 * interface, so that it passes as a record of spreads to {@link judge}).
 */
export type ComparisonMetrics = {
  readonly ratio: Spread;
  readonly p50DiffMs: Spread;
  readonly p99DiffMs: Spread;
  readonly baselineRps: Spread;
  readonly subjectRps: Spread;
  readonly baselineP50Ms: Spread;
  readonly subjectP50Ms: Spread;
  readonly baselineP99Ms: Spread;
  readonly subjectP99Ms: Spread;
};

/** A scenario's target, judged on the median of `metric`. */
export interface Target {
  readonly metric: string;
  readonly op: '>=' | '<=';
  readonly value: number;
  readonly description: string;
}

/** A target with what was observed (the median; undefined when the metric is missing). */
export interface JudgedTarget extends Target {
  readonly observed: number | undefined;
  readonly met: boolean;
}

export interface AlternateOptions {
  readonly baseline: SideRun;
  readonly subject: SideRun;
  readonly rounds: number;
  readonly seconds: number;
  readonly sliceSeconds: number;
  readonly warmupSeconds: number;
  readonly log?: (message: string) => void;
}

/** What the slices of one side add up to within a round. */
class Side {
  count = 0;
  seconds = 0;
  non2xx = 0;
  errors = 0;
  latencies = new Samples();

  add(slice: Measurement): void {
    this.count += slice.count;
    this.seconds += slice.seconds;
    this.non2xx += slice.non2xx;
    this.errors += slice.errors;
    this.latencies.pushAll(slice.latencies);
  }

  result(): SideResult {
    return {
      rps: round(this.count / this.seconds, 1),
      count: this.count,
      seconds: round(this.seconds, 3),
      ...this.latencies.summary(),
      non2xx: this.non2xx,
      errors: this.errors,
    };
  }
}

// How long a side may take to give its first answers before the run fails.
const FIRST_ANSWER_TIMEOUT_MS = 60_000;

/**
 * Loads `side` for `seconds`, and on until it has answered: a cold server (a JIT warming up,
 * an embedded database's first queries) can answer nothing for a second or more on a busy
 * machine, and a round must not start before it answers.
 */
async function warmUp(side: SideRun, seconds: number): Promise<void> {
  const deadline = Date.now() + FIRST_ANSWER_TIMEOUT_MS;
  let answered = 0;
  do {
    answered += (await side(Math.max(seconds, 0.25))).count;
  } while (answered === 0 && Date.now() < deadline);
}

/**
 * Measures `baseline` and `subject` (each `async (seconds) => { count, seconds, latencies,
 * non2xx, errors }`) in `rounds` rounds of `seconds` a side, after a discarded warm-up of
 * each (at least until it has answered). Within a round the two sides take turns in slices of about `sliceSeconds` (AB BA AB
 * ...), so that whatever else the machine does at that moment weighs on both alike; each
 * round gives one ratio (subject req/s / baseline req/s) and one latency difference (subject
 * - baseline, p50 and p99 of all the round's answers), and the report is their median over
 * the rounds with the min-max spread.
 */
export async function alternate({
  baseline,
  subject,
  rounds,
  seconds,
  sliceSeconds,
  warmupSeconds,
  log,
}: AlternateOptions): Promise<{ rounds: RoundEntry[]; metrics: ComparisonMetrics }> {
  const sides = { baseline, subject };
  await warmUp(baseline, warmupSeconds);
  await warmUp(subject, warmupSeconds);
  const slices = Math.max(1, Math.round(seconds / sliceSeconds));
  const measured: RoundEntry[] = [];
  for (let index = 0; index < rounds; index += 1) {
    const totals = { baseline: new Side(), subject: new Side() };
    // A side that answered nothing and refused nothing stalled (a busy machine, an embedded
    // database's pause): the round goes on, both sides alike, until each has answers.
    const deadline = Date.now() + FIRST_ANSWER_TIMEOUT_MS;
    const stalled = () =>
      Object.values(totals).some((side) => side.count === 0 && side.non2xx + side.errors === 0);
    let slice = 0;
    for (; slice < slices || (stalled() && Date.now() < deadline); slice += 1) {
      const order: Array<keyof typeof sides> =
        (index * slices + slice) % 2 === 0 ? ['baseline', 'subject'] : ['subject', 'baseline'];
      for (const side of order) totals[side].add(await sides[side](seconds / slices));
    }
    const baselineResult = totals.baseline.result();
    const subjectResult = totals.subject.result();
    assertMostlyOk('baseline', baselineResult);
    assertMostlyOk('subject', subjectResult);
    // The same keys in the same order as before, so results.json reads the same.
    const entry: RoundEntry = {
      slices: slice,
      baseline: baselineResult,
      subject: subjectResult,
      ratio: round(subjectResult.rps / baselineResult.rps),
      p50DiffMs: round(subjectResult.p50 - baselineResult.p50),
      p99DiffMs: round(subjectResult.p99 - baselineResult.p99),
    };
    measured.push(entry);
    log?.(
      `  round ${index + 1}/${rounds}: baseline ${entry.baseline.rps} req/s, subject ${entry.subject.rps} req/s, ratio ${entry.ratio}, p50 ${entry.p50DiffMs >= 0 ? '+' : ''}${entry.p50DiffMs} ms`,
    );
  }
  return { rounds: measured, metrics: comparisonMetrics(measured) };
}

/** The metrics of a comparison, each `{ median, min, max }` over its rounds. */
export function comparisonMetrics(rounds: readonly RoundEntry[]): ComparisonMetrics {
  const pick = (read: (entry: RoundEntry) => number) => summarize(rounds.map(read));
  return {
    ratio: pick((r) => r.ratio),
    p50DiffMs: pick((r) => r.p50DiffMs),
    p99DiffMs: pick((r) => r.p99DiffMs),
    baselineRps: pick((r) => r.baseline.rps),
    subjectRps: pick((r) => r.subject.rps),
    baselineP50Ms: pick((r) => r.baseline.p50),
    subjectP50Ms: pick((r) => r.subject.p50),
    baselineP99Ms: pick((r) => r.baseline.p99),
    subjectP99Ms: pick((r) => r.subject.p99),
  };
}

/**
 * Whether `metrics` meet `target` (`{ metric, op: '>=' | '<=', value }`), judged on the
 * median.
 */
export function judge(
  target: Target | undefined,
  metrics: Readonly<Partial<Record<string, Spread>>>,
): JudgedTarget | undefined {
  if (!target) return undefined;
  const observed = metrics[target.metric]?.median;
  // A missing metric is never met (as `undefined >= value` was false before).
  const met =
    observed !== undefined &&
    (target.op === '>=' ? observed >= target.value : observed <= target.value);
  return { ...target, observed, met };
}
