/** p50, p99 and max of a list of durations. */
export interface Percentiles {
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/**
 * Nearest-rank percentile: the smallest value such that at least `p` percent of the values are
 * less than or equal to it. `null` for an empty list.
 *
 * @example
 * ```ts
 * percentile([5, 1, 3], 50); // 3
 * ```
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

/**
 * p50, p99 and max of `values` (nearest rank).
 *
 * @example
 * ```ts
 * summarize([10, 20, 30]); // { p50: 20, p99: 30, max: 30 }
 * ```
 */
export function summarize(values: readonly number[]): Percentiles {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: percentile(values, 100) };
}
