/** Environment variables the demo passes to each worker process, besides the bot's own. */
export const WORKER_ENV = {
  /** The worker's lane (`i01`, `i02`, …); also its coordinator's instance id. */
  lane: 'BATON_DEMO_LANE',
  /** The run's seed; each worker derives its coordinator's random source from it and its lane. */
  seed: 'BATON_DEMO_SEED',
  /**
   * Optional offset of this worker's clock from the system clock, in milliseconds (an integer,
   * negative for a clock behind). The handler and its coordinator read time through it, so a test
   * can run one instance with a skewed clock. Unset or empty: the system clock.
   */
  clockSkewMs: 'BATON_CLOCK_SKEW_MS',
} as const;

/** Largest accepted {@link WORKER_ENV.clockSkewMs}, either way: one hour. */
export const CLOCK_SKEW_MS_MAX = 60 * 60 * 1000;

/**
 * Reads {@link WORKER_ENV.clockSkewMs}: `0` when unset or empty.
 *
 * @throws RangeError when the value is not an integer of milliseconds within ±{@link CLOCK_SKEW_MS_MAX}.
 * @example
 * ```ts
 * parseClockSkewMs('-5000'); // -5000
 * ```
 */
export function parseClockSkewMs(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 0;
  const trimmed = value.trim();
  const skewMs = Number(trimmed);
  if (!/^-?\d{1,10}$/.test(trimmed) || Math.abs(skewMs) > CLOCK_SKEW_MS_MAX) {
    throw new RangeError(`${WORKER_ENV.clockSkewMs} must be an integer of milliseconds between -${CLOCK_SKEW_MS_MAX} and ${CLOCK_SKEW_MS_MAX}`);
  }
  return skewMs;
}
