// Small statistics over arrays of numbers.

/** Latencies in ms, as a plain array or as the typed array {@link Samples} keeps. */
export type Latencies = readonly number[] | Float64Array;

/** The median and min-max spread of a metric over the rounds or samples. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** The value at `fraction` (0..1) of an ascending array (nearest rank); NaN when empty. */
export function percentile(sorted: Latencies, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/** Median (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `{ median, min, max }` of `values`: the spread reported is min-max. */
export function summarize(values: readonly number[]): Spread {
  return {
    median: round(median(values)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
  };
}

/** Rounds to `digits` decimals for the JSON (4: enough for ratios and milliseconds). */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A growing list of latency samples (ms). */
export class Samples {
  #values = new Float64Array(16_384);
  length = 0;

  push(value: number): void {
    if (this.length === this.#values.length) {
      const larger = new Float64Array(this.#values.length * 2);
      larger.set(this.#values);
      this.#values = larger;
    }
    this.#values[this.length++] = value;
  }

  pushAll(values: Latencies): void {
    for (const value of values) this.push(value);
  }

  /** The samples, as a copy. */
  toArray(): Float64Array {
    return this.#values.slice(0, this.length);
  }

  /** `{ p50, p99, mean }` in ms. */
  summary(): { p50: number; p99: number; mean: number } {
    const sorted = this.#values.slice(0, this.length).sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    return {
      p50: round(percentile(sorted, 0.5)),
      p99: round(percentile(sorted, 0.99)),
      mean: round(sorted.length === 0 ? Number.NaN : sum / sorted.length),
    };
  }
}
