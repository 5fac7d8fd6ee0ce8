/**
 * A counting semaphore: at most `permits` holders at once, waiters served first come first served.
 *
 * @example
 * ```ts
 * const gate = new Semaphore(8);
 * await gate.acquire();
 * try { await work(); } finally { gate.release(); }
 * ```
 */
export class Semaphore {
  #available: number;
  readonly #waiters: Array<() => void> = [];

  constructor(permits: number) {
    if (!(Number.isInteger(permits) && permits >= 1)) throw new RangeError(`permits must be a positive integer, got ${permits}`);
    this.#available = permits;
  }

  /** Resolves once a permit is held. */
  acquire(): Promise<void> {
    if (this.#available > 0) {
      this.#available -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Gives a permit back (to the oldest waiter, if any). */
  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next();
    else this.#available += 1;
  }

  /** Callers waiting for a permit. */
  waiting(): number {
    return this.#waiters.length;
  }
}
