import type { BatonEvent } from './events.js';
import type { Scheduler } from './scheduler.js';
import type { TokenStore } from './store.js';

/** A clock returning epoch milliseconds. Injected so tests and simulations control time. */
export interface Clock {
  /** Current time, epoch ms. */
  now(): number;
}

/**
 * Anything with the four usual log methods: `console`, the Powertools Logger, pino, ….
 * Baton logs only fingerprints, never tokens or secrets.
 */
export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

/** What `issueToken` resolves with. */
export interface IssuedToken {
  /** The new token. Baton never logs it. */
  readonly token: string;
  /** When the issuer says it expires (epoch ms), if it says. */
  readonly expiresAtMs?: number;
}

/** Passed to `issueToken`. */
export interface IssueTokenContext {
  /** Fires before the lease runs out; abort the `POST /auth` when it does. */
  readonly signal: AbortSignal;
}

/**
 * Options of {@link createTokenCoordinator}.
 *
 * @example
 * ```ts
 * const options: TokenCoordinatorOptions = {
 *   store: new MemoryTokenStore(),
 *   issueToken: async ({ signal }) => ({ token: await login(signal) }),
 * };
 * ```
 */
export interface TokenCoordinatorOptions {
  /** Where the shared item lives. Required. */
  readonly store: TokenStore;
  /**
   * Performs `POST /auth`. Throw {@link IssuerRefusedError} when the issuer refused the
   * credentials for sure; any other error means "outcome unknown" and is retried under the
   * same lease, bounded. Required.
   */
  readonly issueToken: (context: IssueTokenContext) => Promise<IssuedToken>;
  /**
   * How long a refresh lease lasts. A typical `POST /auth` should fit in 80 % of it; a slower
   * call is kept alive by lease heartbeats (every 40 % of the lease, at most 5 per episode, so
   * one call lasts up to 2.8 leases) and aborted when a heartbeat cannot renew the lease (taken
   * over). A crashed
   * or frozen holder's lease is taken over after `leaseMs + maxClockSkewMs`.
   * @defaultValue 10_000
   */
  readonly leaseMs?: number;
  /**
   * Largest clock difference between instances the wall-clock lease-expiry rule tolerates.
   * @defaultValue 1_000
   */
  readonly maxClockSkewMs?: number;
  /**
   * How many times `withToken` calls your function at most (first try plus retries after a refresh).
   * @defaultValue 3
   */
  readonly maxAttempts?: number;
  /**
   * Refresh this long before the issuer's `expiresAtMs` (each instance adds its own jitter of
   * up to half this margin, so instances don't stampede).
   * @defaultValue 60_000
   */
  readonly refreshMarginMs?: number;
  /**
   * How often a follower re-reads the item while another instance refreshes (jittered ±25%).
   * @defaultValue 100
   */
  readonly pollMs?: number;
  /**
   * Default wait for a token when a call gives no `deadlineMs`.
   * @defaultValue 30_000
   */
  readonly waitMsMax?: number;
  /**
   * A rejection of a token younger than this raises an `alarm` event (another client may be
   * using the same credentials).
   * @defaultValue 2_000
   */
  readonly freshTokenMs?: number;
  /**
   * Clock, epoch ms.
   * @defaultValue the system clock (`Date.now`)
   */
  readonly clock?: Clock;
  /**
   * Source of randomness in [0, 1) for jitter and instance ids.
   * @defaultValue `Math.random`
   */
  readonly random?: () => number;
  /**
   * Logger for warnings and errors.
   * @defaultValue a logger that drops everything
   */
  readonly logger?: Logger;
  /**
   * Receives every structured protocol event.
   * @defaultValue none
   */
  readonly onEvent?: (event: BatonEvent) => void;
  /**
   * Where timers are scheduled (poll waits, issuer aborts, call deadlines).
   * @defaultValue the host's `setTimeout`/`clearTimeout`
   */
  readonly scheduler?: Scheduler;
  /**
   * Name of this instance in the item, logs and events.
   * @defaultValue a random id
   */
  readonly instanceId?: string;
}

/**
 * Per-call options of {@link TokenCoordinator.withToken}.
 *
 * @example
 * ```ts
 * await coordinator.withToken(send, { deadlineMs: Date.now() + 5_000, signal: controller.signal });
 * ```
 */
export interface WithTokenOptions {
  /**
   * Absolute epoch ms after which no more waiting happens.
   * @defaultValue now + `waitMsMax`
   */
  readonly deadlineMs?: number;
  /**
   * Aborts the wait.
   * @defaultValue none
   */
  readonly signal?: AbortSignal;
}

/** Counters of one coordinator since it was created. */
export interface CoordinatorStats {
  /** `POST /auth` calls this instance made. */
  readonly authCalls: number;
  /** `withToken` calls served from the in-memory cache without touching the store. */
  readonly cacheHits: number;
  /** Times your function threw `TokenRejectedError`. */
  readonly rejections: number;
  /**
   * Lease claims and takeovers this instance won: applied, or (after a lost answer) recognised
   * when the item was read back.
   */
  readonly claimsWon: number;
  /** Lease claims and takeovers this instance did not win: someone else was first, or a read-back showed them not applied. */
  readonly claimsLost: number;
  /** Stale leases this instance took over (included in `claimsWon`). */
  readonly takeovers: number;
  /** Publishes of this instance refused because another instance had taken over its lease (included in `fencedWrites`). */
  readonly fencedPublishes: number;
  /**
   * Holder writes of this instance (publish, renew, release, record-failure) refused because
   * another instance had taken over its lease. Each also emits a `fenced` event naming the write.
   */
  readonly fencedWrites: number;
  /** Store reads. */
  readonly storeReads: number;
  /** Store writes (applied or not). */
  readonly storeWrites: number;
  /** Tokens this instance published (including a publish whose answer was lost, recognised on a read-back). */
  readonly publishes: number;
  /** Alarms raised (e.g. a fresh token rejected). */
  readonly alarms: number;
}

/**
 * Shares one token among many instances. See {@link createTokenCoordinator}.
 *
 * @example
 * ```ts
 * const reply = await coordinator.withToken((token) => chat.post(token, message));
 * ```
 */
export interface TokenCoordinator {
  /** This instance's id. */
  readonly instanceId: string;
  /**
   * Runs `fn(token)` with the current token. If `fn` throws {@link TokenRejectedError}, the
   * fleet refreshes once and `fn` runs again with the newer token, up to `maxAttempts` calls.
   * Any other error propagates unchanged and triggers no refresh.
   */
  withToken<T>(fn: (token: string) => Promise<T>, options?: WithTokenOptions): Promise<T>;
  /** Counters since creation. */
  stats(): CoordinatorStats;
  /** The machine's current state name (for diagnostics and timelines). */
  state(): string;
}
