/**
 * Percentiles for settle times. An instance that never settled counts as +Infinity, so a
 * percentile that lands on it is reported as `null` ("never settled") instead of being hidden.
 */

/**
 * Nearest-rank percentile (`p` in (0, 100]) of `values`; `null` when the rank lands on an
 * unsettled (infinite) value or `values` is empty.
 *
 * @example
 * ```ts
 * percentile([10, 20, 30, 40], 50); // 20
 * percentile([10, Infinity], 99); // null
 * ```
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  const value = sorted[rank - 1];
  return value === undefined || !Number.isFinite(value) ? null : value;
}

/**
 * Mean of values where any `null` makes the mean `null` (one unsettled incident means the
 * scenario did not settle).
 *
 * @example
 * ```ts
 * meanOrNull([1, 3]); // 2
 * meanOrNull([1, null]); // null
 * ```
 */
export function meanOrNull(values: readonly (number | null)[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const value of values) {
    if (value === null) return null;
    sum += value;
  }
  return sum / values.length;
}

/**
 * Median of a non-empty list (the warm-path harness reports the median of its runs).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[middle - 1] ?? upper) + upper) / 2;
}
