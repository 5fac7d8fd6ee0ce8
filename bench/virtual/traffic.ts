/**
 * The fleet's message traffic: every live instance sends messages back to back (a short think
 * time between them) while the traffic is on, so every instance is sending when an incident hits.
 */
import { jitteredMs } from '../core/rng.js';
import type { StrategyInstance } from '../core/strategy.js';
import type { VirtualInstance, VirtualWorld } from './world.js';

/** Mean pause between two messages of one instance. */
export const THINK_MS = 5;
/**
 * Messages of one instance start at least this far apart (jittered), like webhooks arriving at
 * a steady rate: a strategy that fails fast cannot turn a stuck fleet into a flood of messages.
 * A delivered message already takes about this long (post + think), so it rarely binds.
 */
export const MESSAGE_CYCLE_MS = 25;
/** Messages one instance may send in one traffic window (a bound, far above what a window needs). */
export const MESSAGES_PER_WINDOW_MAX = 100_000;

/**
 * Drives the send loops of a fleet.
 *
 * @example
 * ```ts
 * const traffic = new Traffic(world, strategyInstances);
 * traffic.start();
 * traffic.stop(); // loops finish their current message and end
 * ```
 */
export class Traffic {
  readonly #world: VirtualWorld;
  readonly #strategies: readonly StrategyInstance[];
  #on = false;
  /** Whether each instance's loop is still running (a crashed instance's loop never ends). */
  readonly #looping: boolean[];
  #messageSeq = 0;

  constructor(world: VirtualWorld, strategies: readonly StrategyInstance[]) {
    this.#world = world;
    this.#strategies = strategies;
    this.#looping = strategies.map(() => false);
  }

  /** Starts a send loop on every live instance. */
  start(): void {
    this.#on = true;
    for (const instance of this.#world.instances) {
      if (!instance.crashed && this.#looping[instance.index] !== true) void this.#loop(instance);
    }
  }

  /** Lets every loop end after its current message. */
  stop(): void {
    this.#on = false;
  }

  /** Whether every live instance's loop has ended. */
  get drained(): boolean {
    return this.#world.instances.every((instance) => instance.crashed || this.#looping[instance.index] !== true);
  }

  /** Live instances whose loop is still running (their current message counts as lost if the drain times out). */
  get stuck(): number {
    return this.#world.instances.filter((instance) => !instance.crashed && this.#looping[instance.index] === true).length;
  }

  /** Delivers one message from `instance` (used by the warm-up) and counts it as lost on failure. */
  async deliverOne(instance: VirtualInstance): Promise<void> {
    const strategy = this.#strategies[instance.index];
    if (strategy === undefined) throw new Error(`no strategy instance for v${instance.index}`);
    const delivered = await strategy.deliver(`m-${instance.index}-${++this.#messageSeq}`);
    if (!delivered && !instance.crashed) this.#world.counts.lostMessages += 1;
  }

  async #loop(instance: VirtualInstance): Promise<void> {
    this.#looping[instance.index] = true;
    const random = instance.env.random;
    const clock = this.#world.clock;
    for (let sent = 0; sent < MESSAGES_PER_WINDOW_MAX && this.#on && !instance.crashed; sent += 1) {
      const startedAtMs = clock.nowMs;
      await this.deliverOne(instance);
      const thinkMs = jitteredMs(random, THINK_MS, 1);
      const cycleRestMs = startedAtMs + jitteredMs(random, MESSAGE_CYCLE_MS, 0.2) - clock.nowMs;
      await instance.env.sleep(Math.max(thinkMs, cycleRestMs));
    }
    this.#looping[instance.index] = false;
  }
}
