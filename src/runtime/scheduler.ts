/** Opaque handle of a scheduled callback. */
export type TimerHandle = unknown;

/**
 * Where the coordinator schedules its timers (poll waits, issuer aborts, call deadlines).
 * Injected so simulations run in virtual time.
 *
 * @example
 * ```ts
 * const scheduler: Scheduler = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
 * ```
 */
export interface Scheduler {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real timers of the JavaScript host. */
export const systemScheduler: Scheduler = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
