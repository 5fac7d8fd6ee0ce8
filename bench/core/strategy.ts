/**
 * The contract every compared strategy implements, in both bench modes (virtual time and wall
 * clock). A strategy gets the world through {@link BenchEnv} only, so the same code runs against
 * the simulated store and issuer and against dynalite + the fake chat HTTP server.
 */
import type { TokenStore } from '../../src/runtime/store.js';
import type { Scheduler } from '../../src/runtime/scheduler.js';

/** Names of the compared strategies. */
export const STRATEGY_NAMES = ['baton', 'naive', 'textbook', 'lock-client'] as const;
/** One compared strategy. */
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** A plain item of the bench's own table (naive and textbook keep their state here). */
export type BenchItem = Readonly<Record<string, string | number | boolean>>;

/** The condition of a conditional put: every listed attribute must equal its value, or be absent when the value is `null`. */
export type PutCondition = Readonly<Record<string, string | number | boolean | null>>;

/**
 * A DynamoDB table as naive and textbook see it: consistent reads and conditional puts, each
 * counted by the implementation (one read or one write per call).
 */
export interface BenchItemStore {
  /** `GetItem` with `ConsistentRead`; `undefined` when the item does not exist. */
  get(key: string): Promise<BenchItem | undefined>;
  /** `PutItem`; with a condition it resolves `false` when the condition failed. */
  put(key: string, item: BenchItem, condition?: PutCondition): Promise<boolean>;
  /** `DeleteItem`; with a condition it resolves `false` when the condition failed. */
  delete(key: string, condition?: PutCondition): Promise<boolean>;
}

/** What the chat API said to one message. */
export type ChatAnswer = 'delivered' | 'rejected';

/** Everything one instance may touch. Time, sleeping, randomness and I/O are all injected. */
export interface BenchEnv {
  /** This instance's id (unique in the run). */
  readonly instanceId: string;
  /** This instance's clock, epoch ms (may be skewed in the skew scenario). */
  now(): number;
  /** Sleeps in the mode's time. */
  sleep(ms: number): Promise<void>;
  /** Seeded randomness in [0, 1). */
  random(): number;
  /** Timers in the mode's time (for the Baton coordinator). */
  readonly scheduler: Scheduler;
  /**
   * The lifetime the issuer announces with each token (like an `expires_in` field), when it
   * announces one; a strategy that refreshes before expiry computes the expiry on its own clock.
   */
  readonly tokenTtlMs?: number;
  /** `POST /auth`: a new token, invalidating every earlier one. Honours `signal` (rejects when aborted). */
  issue(signal?: AbortSignal): Promise<string>;
  /** Posts one message with `token`. */
  post(token: string, messageId: string): Promise<ChatAnswer>;
  /** Baton's store port for this instance (counted). */
  readonly tokenStore: TokenStore;
  /** The generic table naive and textbook use (counted). */
  readonly itemStore: BenchItemStore;
  /** Wall-clock mode only: the real DynamoDB endpoint, for strategies that bring their own client (`lock-client`). */
  readonly wall?: WallEnv;
}

/**
 * What a strategy with its own DynamoDB client (`lock-client`, AWS SDK v2) needs in wall-clock
 * mode. Absent in virtual time.
 */
export interface WallEnv {
  /** DynamoDB endpoint, e.g. `http://127.0.0.1:PORT` (embedded dynalite). */
  readonly endpoint: string;
  /** Region to tell the SDK (local engines ignore it). */
  readonly region: string;
  /** Table for locks (created by the bench), string partition key {@link WallEnv.lockPartitionKey}. */
  readonly lockTable: string;
  /** Partition-key attribute name of {@link WallEnv.lockTable}. */
  readonly lockPartitionKey: string;
  /** Unique per run: prefix for lock ids, so runs never share a lock. */
  readonly namespace: string;
  /** Counts one DynamoDB call the strategy made with its own client. */
  countDdb(kind: 'read' | 'write'): void;
}

/** One instance of a strategy: gets a token, and refreshes it when the chat API rejects it. */
export interface StrategyInstance {
  /**
   * Delivers one message: posts with the current token and, on rejection, coordinates a refresh
   * as the strategy does and retries (bounded). Resolves `true` when delivered, `false` when the
   * strategy gave up (a lost message).
   */
  deliver(messageId: string): Promise<boolean>;
  /** Releases timers and resources. */
  close(): Promise<void>;
}

/** A strategy: creates instances over an environment. */
export interface Strategy {
  readonly name: StrategyName;
  /** Which modes it can run in (`lock-client` needs the v2 AWS SDK, so wall clock only). */
  readonly modes: readonly ('virtual' | 'wall')[];
  create(env: BenchEnv): StrategyInstance;
}
