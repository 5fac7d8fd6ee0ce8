/**
 * One simulated world: the virtual clock, the strict fake chat API (one valid token at a time),
 * the Baton item (a `MemoryTokenStore`) and the bench table, each reached through per-instance
 * doors that add jittered latency, count every call, and go silent when the instance crashes.
 */
import { FakeChatApi } from '../../src/fake/chat-api.js';
import type { WriteRequest, WriteOutcome, TokenRecord } from '../../src/machine/record.js';
import { MemoryTokenStore } from '../../src/runtime/memory-store.js';
import type { Scheduler } from '../../src/runtime/scheduler.js';
import type { ReadOptions, TokenStore } from '../../src/runtime/store.js';
import { jitteredMs, seededRandom } from '../core/rng.js';
import type { Random } from '../core/rng.js';
import { CHAT_POST_MS, LATENCY_JITTER_FRACTION } from '../core/scenarios.js';
import type { BenchEnv, BenchItem, BenchItemStore, ChatAnswer, PutCondition } from '../core/strategy.js';
import { VirtualClock } from './clock.js';
import { VirtualItemTable } from './item-store.js';

/** The fleet's credentials at the fake issuer (a fixture, not a secret). */
const BENCH_SECRET = 'bench-fixture-secret';
/** Most instances one world simulates. */
export const VIRTUAL_INSTANCES_MAX = 1_000;

/** Latencies and fault settings of a world. */
export interface WorldOptions {
  readonly seed: number;
  /** `POST /auth` latency at the start (see {@link VirtualWorld.authMs}). */
  readonly authMs: number;
  readonly ddbMs: number;
  /** Token lifetime at the issuer (announced to the fleet as `tokenTtlMs`); none when absent. */
  readonly tokenTtlMs?: number;
}

/** Service-side counters; the per-incident numbers are differences of two snapshots. */
export interface WorldCounts {
  authCalls: number;
  rejections: number;
  ddbReads: number;
  ddbWrites: number;
  lostMessages: number;
}

/** One simulated instance. */
export interface VirtualInstance {
  readonly index: number;
  readonly env: BenchEnv;
  /** A crashed instance's timers, store calls and HTTP calls never come back. */
  crashed: boolean;
  /** Virtual time of its first delivered message per token generation. */
  readonly firstDeliveryAtMs: Map<number, number>;
}

/**
 * A simulated world with its services.
 *
 * @example
 * ```ts
 * const world = new VirtualWorld({ seed: 1, authMs: 300, ddbMs: 10 });
 * const instance = world.addInstance(0);
 * ```
 */
export class VirtualWorld {
  readonly clock = new VirtualClock();
  readonly api: FakeChatApi;
  readonly counts: WorldCounts = { authCalls: 0, rejections: 0, ddbReads: 0, ddbWrites: 0, lostMessages: 0 };
  readonly instances: VirtualInstance[] = [];
  /** Generation of every token the issuer handed out (to judge settle by generation). */
  readonly generationOf = new Map<string, number>();
  /** `POST /auth` calls not yet answered (crashed callers excluded). */
  authInFlight = 0;
  /** When the last `POST /auth` started (virtual ms). */
  lastAuthStartedAtMs = Number.NEGATIVE_INFINITY;
  /** `holder-crash`: the next instance whose `POST /auth` reaches the issuer dies right there. */
  crashNextAuthCaller = false;
  /** `POST /auth` latency now (a scenario may slow the issuer down after the warm-up). */
  authMs: number;
  readonly #options: WorldOptions;
  readonly #random: Random;
  readonly #tokenStore = new MemoryTokenStore({ historyLimitEntries: 16 });
  readonly #table = new VirtualItemTable();

  constructor(options: WorldOptions) {
    this.#options = options;
    this.authMs = options.authMs;
    this.#random = seededRandom(options.seed);
    const tokenRandom = seededRandom(options.seed ^ 0x7a11);
    this.api = new FakeChatApi({
      secret: BENCH_SECRET,
      clock: { now: () => this.clock.nowMs },
      generateToken: (generation) => `bench-${generation}-${Math.floor(tokenRandom() * 2 ** 32).toString(36)}`,
      ...(options.tokenTtlMs === undefined ? {} : { tokenTtlMs: options.tokenTtlMs }),
    });
  }

  /**
   * Generation of the token the chat API accepts right now; `undefined` when none does (no
   * token yet, or the current one expired).
   */
  get acceptedGeneration(): number | undefined {
    const current = this.api.current();
    return current === undefined || current.expired ? undefined : current.generation;
  }

  /** Adds an instance whose clock runs `skewMs` ahead of true virtual time. */
  addInstance(skewMs: number, random: Random = seededRandom(this.instances.length + 1)): VirtualInstance {
    if (this.instances.length >= VIRTUAL_INSTANCES_MAX) throw new Error(`a virtual world holds at most ${VIRTUAL_INSTANCES_MAX} instances`);
    const index = this.instances.length;
    const scheduler: Scheduler = {
      setTimeout: (callback, delayMs) => this.clock.schedule(() => !instance.crashed && callback(), delayMs),
      clearTimeout: (handle) => this.clock.scheduler.clearTimeout(handle),
    };
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => scheduler.setTimeout(resolve, ms));
    const env: BenchEnv = {
      instanceId: `v${index}`,
      now: () => this.clock.nowMs + skewMs,
      sleep,
      random,
      scheduler,
      issue: (signal) => this.#issue(instance, sleep, signal),
      post: (token, messageId) => this.#post(instance, sleep, token, messageId),
      tokenStore: this.#countedTokenStore(sleep),
      itemStore: this.#countedItemStore(sleep),
      ...(this.#options.tokenTtlMs === undefined ? {} : { tokenTtlMs: this.#options.tokenTtlMs }),
    };
    const instance: VirtualInstance = { index, env, crashed: false, firstDeliveryAtMs: new Map() };
    this.instances.push(instance);
    return instance;
  }

  /** Splits a jittered round trip into the way there and the way back. */
  #roundTrip(meanMs: number): readonly [number, number] {
    const totalMs = jitteredMs(this.#random, meanMs, LATENCY_JITTER_FRACTION);
    const thereMs = Math.floor(totalMs / 2);
    return [thereMs, totalMs - thereMs];
  }

  async #issue(instance: VirtualInstance, sleep: (ms: number) => Promise<void>, signal: AbortSignal | undefined): Promise<string> {
    this.counts.authCalls += 1;
    this.authInFlight += 1;
    this.lastAuthStartedAtMs = this.clock.nowMs;
    const [thereMs, backMs] = this.#roundTrip(this.authMs);
    try {
      await abortable(sleep(thereMs), signal);
      const answer = this.api.auth(BENCH_SECRET);
      if (answer.status !== 200) throw new Error(`POST /auth answered ${answer.status}`);
      this.generationOf.set(answer.token, answer.generation);
      if (this.crashNextAuthCaller) {
        // Dies mid-refresh: the issuer already invalidated every other token; nobody learns the new one.
        this.crashNextAuthCaller = false;
        instance.crashed = true;
        this.authInFlight -= 1;
        return await new Promise<never>(() => {});
      }
      // The answer can still be lost to the caller's abort (the token was issued all the same).
      await abortable(sleep(backMs), signal);
      return answer.token;
    } finally {
      if (!instance.crashed) this.authInFlight -= 1;
    }
  }

  async #post(instance: VirtualInstance, sleep: (ms: number) => Promise<void>, token: string, messageId: string): Promise<ChatAnswer> {
    const [thereMs, backMs] = this.#roundTrip(CHAT_POST_MS);
    await sleep(thereMs);
    const result = this.api.postMessage(token, { messageId, room: 'bench', text: 'hello' });
    let answer: ChatAnswer;
    if (result.status === 200) {
      answer = 'delivered';
      const generation = this.generationOf.get(token);
      if (generation !== undefined && !instance.firstDeliveryAtMs.has(generation)) instance.firstDeliveryAtMs.set(generation, this.clock.nowMs);
    } else if (result.status === 401) {
      answer = 'rejected';
      this.counts.rejections += 1;
    } else {
      throw new Error(`POST /messages answered ${result.status}`);
    }
    await sleep(backMs);
    return answer;
  }

  #countedTokenStore(sleep: (ms: number) => Promise<void>): TokenStore {
    const inner = this.#tokenStore;
    const call = async <T>(count: 'ddbReads' | 'ddbWrites', operation: () => Promise<T>): Promise<T> => {
      this.counts[count] += 1;
      const [thereMs, backMs] = this.#roundTrip(this.#options.ddbMs);
      await sleep(thereMs);
      const result = await operation();
      await sleep(backMs);
      return result;
    };
    return {
      read: (options: ReadOptions): Promise<TokenRecord | undefined> => call('ddbReads', () => inner.read(options)),
      write: (request: WriteRequest): Promise<WriteOutcome> => call('ddbWrites', () => inner.write(request)),
      describe: () => 'virtual DynamoDB item (memory store)',
    };
  }

  #countedItemStore(sleep: (ms: number) => Promise<void>): BenchItemStore {
    const table = this.#table;
    const call = async <T>(count: 'ddbReads' | 'ddbWrites', operation: () => T): Promise<T> => {
      this.counts[count] += 1;
      const [thereMs, backMs] = this.#roundTrip(this.#options.ddbMs);
      await sleep(thereMs);
      const result = operation();
      await sleep(backMs);
      return result;
    };
    return {
      get: (key: string): Promise<BenchItem | undefined> => call('ddbReads', () => table.get(key)),
      put: (key: string, item: BenchItem, condition?: PutCondition): Promise<boolean> => call('ddbWrites', () => table.put(key, item, condition)),
      delete: (key: string, condition?: PutCondition): Promise<boolean> => call('ddbWrites', () => table.delete(key, condition)),
    };
  }
}

/** Rejects as soon as `signal` aborts (like `fetch`), otherwise settles with `promise`. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
