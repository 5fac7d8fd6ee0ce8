/**
 * The virtual clock: an event queue of timers in (time, creation) order. Between two instants
 * every pending promise continuation runs (one macrotask boundary drains the microtask queue),
 * so the Baton runtime, the strategies and the simulated services interleave exactly as their
 * awaits dictate — and identically on every run.
 */
import type { Scheduler } from '../../src/runtime/scheduler.js';
import { TimerHeap } from './heap.js';
import type { HeapTimer } from './heap.js';

/** Where virtual time starts (an ordinary epoch ms, so dates in the item look real). */
export const VIRTUAL_EPOCH_MS = 1_800_000_000_000;
/** Distinct instants one `run` call may step through before it is declared a runaway. */
export const VIRTUAL_STEPS_MAX = 5_000_000;

/** Lets every pending promise continuation run. */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Deterministic virtual time.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const slept = clock.sleep(300);
 * await clock.run({ untilMs: clock.nowMs + 1_000 });
 * await slept; // resolved at +300 ms
 * ```
 */
export class VirtualClock {
  nowMs: number;
  #seq = 0;
  readonly #heap = new TimerHeap();

  constructor(startMs = VIRTUAL_EPOCH_MS) {
    this.nowMs = startMs;
  }

  /** Timers in virtual time, for code that takes a {@link Scheduler}. */
  readonly scheduler: Scheduler = {
    setTimeout: (callback, delayMs) => this.schedule(callback, delayMs),
    clearTimeout: (handle) => {
      if (typeof handle === 'object' && handle !== null && 'cancelled' in handle) (handle as HeapTimer).cancelled = true;
    },
  };

  /** Schedules `callback` `delayMs` from now (negative or NaN delays mean now). */
  schedule(callback: () => void, delayMs: number): HeapTimer {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const timer: HeapTimer = { atMs: this.nowMs + delay, seq: ++this.#seq, callback, cancelled: false };
    this.#heap.push(timer);
    return timer;
  }

  /** Resolves after `delayMs` of virtual time. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.schedule(resolve, delayMs);
    });
  }

  /** Whether any live timer is pending. */
  get idle(): boolean {
    return this.#nextLive() === undefined;
  }

  #nextLive(): HeapTimer | undefined {
    for (let top = this.#heap.peek(); top !== undefined; top = this.#heap.peek()) {
      if (!top.cancelled) return top;
      this.#heap.pop();
    }
    return undefined;
  }

  /**
   * Runs instants in order until `done()` holds (checked after each instant's continuations),
   * no timer is left, or the next one is after `untilMs` (then the clock stops at `untilMs`).
   * Every timer due at one instant that existed when the instant began fires before the
   * continuations run; timers they add for the same instant fire in the next round.
   */
  async run(options: { readonly untilMs?: number; readonly done?: () => boolean }): Promise<void> {
    const untilMs = options.untilMs ?? Number.POSITIVE_INFINITY;
    for (let step = 0; step < VIRTUAL_STEPS_MAX; step += 1) {
      await drainMicrotasks();
      if (options.done?.() === true) return;
      const next = this.#nextLive();
      if (next === undefined || next.atMs > untilMs) {
        if (Number.isFinite(untilMs)) this.nowMs = Math.max(this.nowMs, untilMs);
        return;
      }
      this.nowMs = next.atMs;
      const seqAtStart = this.#seq;
      for (let top = this.#heap.peek(); top !== undefined && top.atMs === next.atMs && top.seq <= seqAtStart; top = this.#heap.peek()) {
        this.#heap.pop();
        if (!top.cancelled) top.callback();
      }
    }
    throw new Error(`virtual run exceeded ${VIRTUAL_STEPS_MAX} instants: a runaway loop`);
  }
}
