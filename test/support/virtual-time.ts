import type { Scheduler } from '../../src/runtime/scheduler.js';

/** Steps a virtual-time run may take before it is declared runaway. */
export const VIRTUAL_STEPS_MAX = 200_000;

interface Timer {
  readonly atMs: number;
  readonly seq: number;
  readonly callback: () => void;
}

/** Lets every pending promise continuation run (a macrotask boundary drains microtasks). */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Deterministic virtual time: timers fire in (time, creation) order, and every promise
 * continuation settles before the clock moves. Same inputs, same run.
 */
export class VirtualTime {
  nowMs: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  readonly scheduler: Scheduler = {
    setTimeout: (callback, delayMs) => {
      const id = ++this.#seq;
      this.#timers.set(id, { atMs: this.nowMs + Math.max(0, delayMs), seq: id, callback });
      return id;
    },
    clearTimeout: (handle) => {
      this.#timers.delete(handle as number);
    },
  };

  /** A clock for one instance, offset from true time by `skewMs` (plus later jumps). */
  clock(skewMs = 0): { now(): number; jump(ms: number): void } {
    let offsetMs = skewMs;
    return { now: () => this.nowMs + offsetMs, jump: (ms) => (offsetMs += ms) };
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) return reject(signal.reason);
      const id = this.scheduler.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, delayMs);
      const onAbort = (): void => {
        this.scheduler.clearTimeout(id);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** When the earliest pending timer is due, or `undefined` when none is pending. */
  get nextTimerAtMs(): number | undefined {
    let atMs: number | undefined;
    for (const timer of this.#timers.values()) if (atMs === undefined || timer.atMs < atMs) atMs = timer.atMs;
    return atMs;
  }

  /**
   * Moves the clock to the earliest pending timer (if it is due by `untilMs`) and fires, in
   * creation order, every timer due at that instant; timers they create run in a later call.
   * Returns how many fired. Used by drivers that interleave timers with another scheduler
   * (the fast-check simulation fires one instant, then lets scheduled promises run).
   */
  fireNextInstant(untilMs = Number.POSITIVE_INFINITY): number {
    const atMs = this.nextTimerAtMs;
    if (atMs === undefined || atMs > untilMs) return 0;
    const due = [...this.#timers.values()].filter((timer) => timer.atMs === atMs).sort((a, b) => a.seq - b.seq);
    this.nowMs = Math.max(this.nowMs, atMs);
    let fired = 0;
    for (const timer of due) {
      // An earlier callback of this instant may have cleared it.
      if (!this.#timers.delete(timer.seq)) continue;
      fired += 1;
      timer.callback();
    }
    return fired;
  }

  /** Runs timers in order until `done()` holds, nothing is pending, or `untilMs` is reached. */
  async run(options: { untilMs?: number; done?: () => boolean } = {}): Promise<void> {
    const untilMs = options.untilMs ?? Number.POSITIVE_INFINITY;
    for (let step = 0; step < VIRTUAL_STEPS_MAX; step += 1) {
      await flushMicrotasks();
      if (options.done?.() === true) return;
      let next: Timer | undefined;
      for (const timer of this.#timers.values()) {
        if (next === undefined || timer.atMs < next.atMs || (timer.atMs === next.atMs && timer.seq < next.seq)) next = timer;
      }
      if (next === undefined || next.atMs > untilMs) {
        if (Number.isFinite(untilMs)) this.nowMs = Math.max(this.nowMs, untilMs);
        return;
      }
      this.#timers.delete(next.seq);
      this.nowMs = next.atMs;
      next.callback();
    }
    throw new Error(`virtual run exceeded ${VIRTUAL_STEPS_MAX} steps: a runaway loop`);
  }

  /** Runs until `promise` settles (or nothing is left to run) and returns its outcome. */
  async settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    promise.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    await this.run({ done: () => outcome !== undefined });
    await flushMicrotasks();
    if (outcome === undefined) throw new Error('the promise never settled and nothing was left to run: a deadlock');
    return outcome;
  }
}
