// Small statistics over arrays of numbers.

/** The value at `fraction` (0..1) of an ascending array (nearest rank); NaN when empty. */
export function percentile(sorted, fraction) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/** Median (the mean of the two middle values for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `{ median, min, max }` of `values`: the spread reported is min-max. */
export function summarize(values) {
  return {
    median: round(median(values)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
  };
}

/** Rounds to `digits` decimals for the JSON (4: enough for ratios and milliseconds). */
export function round(value, digits = 4) {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A growing list of latency samples (ms). */
export class Samples {
  #values = new Float64Array(16_384);
  length = 0;

  push(value) {
    if (this.length === this.#values.length) {
      const larger = new Float64Array(this.#values.length * 2);
      larger.set(this.#values);
      this.#values = larger;
    }
    this.#values[this.length++] = value;
  }

  pushAll(values) {
    for (const value of values) this.push(value);
  }

  /** The samples, as a copy. */
  toArray() {
    return this.#values.slice(0, this.length);
  }

  /** `{ p50, p99, mean }` in ms. */
  summary() {
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
