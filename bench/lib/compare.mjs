// Baseline against subject, in alternating rounds, reported as ratios of the same round.
import { assertMostlyOk } from './load.mjs';
import { round, Samples, summarize } from './stats.mjs';

/** What the slices of one side add up to within a round. */
class Side {
  count = 0;
  seconds = 0;
  non2xx = 0;
  errors = 0;
  latencies = new Samples();

  add(slice) {
    this.count += slice.count;
    this.seconds += slice.seconds;
    this.non2xx += slice.non2xx;
    this.errors += slice.errors;
    this.latencies.pushAll(slice.latencies);
  }

  result() {
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
async function warmUp(side, seconds) {
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
}) {
  const sides = { baseline, subject };
  await warmUp(baseline, warmupSeconds);
  await warmUp(subject, warmupSeconds);
  const slices = Math.max(1, Math.round(seconds / sliceSeconds));
  const measured = [];
  for (let index = 0; index < rounds; index += 1) {
    const totals = { baseline: new Side(), subject: new Side() };
    for (let slice = 0; slice < slices; slice += 1) {
      const order =
        (index * slices + slice) % 2 === 0 ? ['baseline', 'subject'] : ['subject', 'baseline'];
      for (const side of order) totals[side].add(await sides[side](seconds / slices));
    }
    const entry = {
      slices,
      baseline: totals.baseline.result(),
      subject: totals.subject.result(),
    };
    assertMostlyOk('baseline', entry.baseline);
    assertMostlyOk('subject', entry.subject);
    entry.ratio = round(entry.subject.rps / entry.baseline.rps);
    entry.p50DiffMs = round(entry.subject.p50 - entry.baseline.p50);
    entry.p99DiffMs = round(entry.subject.p99 - entry.baseline.p99);
    measured.push(entry);
    log?.(
      `  round ${index + 1}/${rounds}: baseline ${entry.baseline.rps} req/s, subject ${entry.subject.rps} req/s, ratio ${entry.ratio}, p50 ${entry.p50DiffMs >= 0 ? '+' : ''}${entry.p50DiffMs} ms`,
    );
  }
  return { rounds: measured, metrics: comparisonMetrics(measured) };
}

/** The metrics of a comparison, each `{ median, min, max }` over its rounds. */
export function comparisonMetrics(rounds) {
  const pick = (read) => summarize(rounds.map(read));
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
export function judge(target, metrics) {
  if (!target) return undefined;
  const observed = metrics[target.metric]?.median;
  const met = target.op === '>=' ? observed >= target.value : observed <= target.value;
  return { ...target, observed, met };
}
