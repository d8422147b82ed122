// The shape of a scenario's entry in the results JSON (see docs/benchmarks/README.md).
import { judge } from './compare.mjs';

/**
 * A finished comparison: what was compared, how it was loaded, every round, the metrics
 * (median and min-max of the rounds) and the target judged on the median.
 */
export function comparisonResult(definition, measured) {
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
export function skippedResult(definition, reason) {
  return {
    id: definition.id,
    group: definition.group,
    title: definition.title,
    kind: definition.kind ?? 'comparison',
    status: 'skipped',
    reason,
    baseline: definition.baseline,
    subject: definition.subject,
    target: definition.target,
  };
}
