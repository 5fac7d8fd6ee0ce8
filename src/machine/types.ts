import type { ProtocolConfig } from './config.js';
import type { TokenRecord, WriteRequest } from './record.js';

/** A token this instance holds in memory. */
export interface CachedToken {
  readonly value: string;
  readonly generation: number;
  readonly issuedAtMs?: number;
  readonly expiresAtMs?: number;
}

/** A lease as this instance sees it: id plus its own-clock start and end. */
export interface LeaseView {
  readonly id: string;
  /** Own-clock time the lease's last write (claim, takeover, renewal) was sent (it can only have applied later). */
  readonly startedAtMs: number;
  /** Own-clock time the claim or takeover was sent (renewals keep it): how long a refresh took is measured from here. */
  readonly acquiredAtMs: number;
  readonly expiresAtMs: number;
  /** How the lease was taken (a renewal keeps it): for stats and events, even when only a read-back confirms it. */
  readonly takenBy: 'claim' | 'take-over';
  /** The holder of the stale lease a takeover replaced (for operators and events only). */
  readonly staleHolder: string | undefined;
}

/** Holder writes whose refusal means the lease was lost: a takeover fenced this instance out. */
export type FencedIntent = EffectParams['reportFenced']['intent'];

/** A lease seen in the item, and since when (own clock) it has stood unchanged. */
export interface ObservedLease {
  readonly leaseId: string;
  readonly revision: number;
  readonly sinceMs: number;
  /** The holder the item names (for operators and events only). */
  readonly holder: string | undefined;
  /** The lease's stated end on its holder's clock (`leaseExpiresAtMs`), to explain a clock-skew alarm. */
  readonly expiresAtMs: number | undefined;
  /**
   * When the lease was first taken, on its holder's clock (`leaseAcquiredAtMs` at the first
   * sighting; kept across renewals of the same lease): to time polls around the expected publish.
   */
  readonly acquiredAtMs: number | undefined;
}

/**
 * Codes of the alarms the machine raises (the `alarm` event's `code`).
 *
 * - `FRESH_TOKEN_REJECTED`: a token published moments ago was rejected (another client may use
 *   the same credentials).
 * - `CLOCK_SKEW`: a lease looked expired by this instance's clock, yet its holder was still
 *   working on it: this clock is probably more than `maxClockSkewMs` ahead of the holder's.
 */
export const ALARM_CODES = {
  freshTokenRejected: 'FRESH_TOKEN_REJECTED',
  clockSkew: 'CLOCK_SKEW',
} as const satisfies Record<string, EffectParams['raiseAlarm']['code']>;

/** Why waiting callers are failed. Plain data: the runtime turns it into an error class. */
export type Failure =
  | { readonly kind: 'issuer-refused'; readonly status: number | undefined; readonly backoffUntilMs: number; readonly message: string }
  | { readonly kind: 'issuer-unavailable'; readonly backoffUntilMs: number | undefined; readonly message: string }
  | { readonly kind: 'store'; readonly code: StoreErrorCode; readonly message: string; readonly cause: unknown }
  | { readonly kind: 'round-limit'; readonly message: string };

/** Error codes a failed store call may carry. */
export type StoreErrorCode = 'STORE_UNAVAILABLE' | 'STORE_MISCONFIGURED' | 'RECORD_INVALID';

/** What to do with the item just observed. Computed by the machine's decision rules (`decide`). */
export type Decision =
  | { readonly kind: 'adopt' }
  | { readonly kind: 'keep' }
  | { readonly kind: 'published' }
  | { readonly kind: 'claim'; readonly request: WriteRequest; readonly lease: LeaseView }
  | { readonly kind: 'take-over'; readonly request: WriteRequest; readonly lease: LeaseView; readonly staleHolder: string | undefined }
  | { readonly kind: 'wait'; readonly delayMsMin: number; readonly delayMsMax: number }
  | { readonly kind: 'refresh' }
  | { readonly kind: 'publish' }
  | { readonly kind: 'fail'; readonly failure: Failure };

/** Everything one instance's machine knows. */
export interface MachineContext {
  readonly config: ProtocolConfig;
  readonly instanceId: string;
  /** Random per machine start; part of every lease id. */
  readonly nonce: string;
  /** Own-clock time of the last event. */
  readonly nowMs: number;
  readonly cached: CachedToken | undefined;
  /**
   * The last token a caller here saw rejected. Tokens are compared by identity, not by
   * generation: under consistent reads a different token is always a newer one, even after the
   * item was deleted and re-created (its generations start over).
   */
  readonly rejectedToken: string | undefined;
  /** Token the running episode must replace (adopt any other, unexpired one). */
  readonly replaceToken: string | undefined;
  /** The running episode is a proactive refresh: callers keep using the cached token meanwhile. */
  readonly proactive: boolean;
  /** No proactive refresh starts before this own-clock time (someone else is on it). */
  readonly proactiveHoldUntilMs: number;
  /** Decisions taken in the running episode. */
  readonly rounds: number;
  /** The item as last observed (read or returned by a write). */
  readonly record: TokenRecord | undefined;
  readonly observed: ObservedLease | undefined;
  /** The lease this instance holds. */
  readonly lease: LeaseView | undefined;
  /** The lease a write in flight tries to take or renew. */
  readonly pendingLease: LeaseView | undefined;
  /** A token received from the issuer and not yet published. */
  readonly issued: { readonly token: string; readonly expiresAtMs?: number } | undefined;
  readonly issuerAttempts: number;
  /**
   * How long the last refresh this instance saw took, on its holder's clock (lease taken to
   * token issued), at most `leaseMs`; undefined until one was seen. Followers aim a poll just
   * after the publish it predicts (never waiting longer than a normal poll for it).
   */
  readonly refreshMsSeen: number | undefined;
  /** Id of the last heartbeat (a lease renewal sent while `POST /auth` runs); answers with another id are ignored. */
  readonly heartbeatId: number;
  /** Heartbeats applied in this episode (at most `HEARTBEATS_MAX`; unknown outcomes do not count, see `heartbeatTimer`). */
  readonly heartbeats: number;
  /** The lease the heartbeat in flight would set; undefined when none is in flight. */
  readonly heartbeatLease: LeaseView | undefined;
  /** Renewals in a row made only to regain time for `POST /auth` (reset by an issuer call). */
  readonly budgetRenewals: number;
  /** Writes with an unknown outcome in this episode (each is read back after a growing pause). */
  readonly ambiguousWrites: number;
  /** Every caller gave up (deadline or abort): stop polling unless this instance holds something. */
  readonly callersGone: boolean;
  readonly leaseCounter: number;
  /** Id of the one store or issuer request in flight; responses with another id are ignored. */
  readonly requestId: number;
  /** Id of the one poll timer; firings with another id are ignored. */
  readonly timerId: number;
  /** Token an alarm was last raised for, so one rejection storm raises one alarm. */
  readonly alarmedToken: string | undefined;
  /** Lease a `CLOCK_SKEW` alarm was last raised for, so a lease renewed by heartbeats raises one alarm. */
  readonly skewAlarmedLease: string | undefined;
  readonly decision: Decision | undefined;
  readonly pendingWrite: WriteRequest | undefined;
  readonly failure: Failure | undefined;
}

/** Input to start an instance's machine. */
export interface MachineInput {
  readonly config: ProtocolConfig;
  readonly instanceId: string;
  /** Random per machine start, so lease ids stay unique even if two processes share an instance id. */
  readonly nonce: string;
  readonly nowMs: number;
}

/** Every event carries the instance's own-clock time. */
export interface Timed {
  readonly nowMs: number;
}

/** Events the runtime sends into the machine. */
export type MachineEvent =
  | ({ readonly type: 'TOKEN_NEEDED' } & Timed)
  | ({ readonly type: 'TOKEN_REJECTED'; readonly token: string; readonly generation: number } & Timed)
  /** A caller out of attempts saw this token rejected: remember it, but start no refresh until someone needs a token. */
  | ({ readonly type: 'TOKEN_DISCARDED'; readonly token: string; readonly generation: number } & Timed)
  | ({ readonly type: 'READ_OK'; readonly requestId: number; readonly record: TokenRecord | undefined } & Timed)
  | ({ readonly type: 'READ_FAILED'; readonly requestId: number; readonly code: StoreErrorCode; readonly message: string; readonly cause: unknown } & Timed)
  | ({ readonly type: 'WRITE_APPLIED'; readonly requestId: number; readonly record: TokenRecord } & Timed)
  | ({ readonly type: 'WRITE_REFUSED'; readonly requestId: number; readonly current: TokenRecord | undefined } & Timed)
  | ({ readonly type: 'WRITE_AMBIGUOUS'; readonly requestId: number; readonly message?: string } & Timed)
  | ({ readonly type: 'WRITE_FAILED'; readonly requestId: number; readonly code: StoreErrorCode; readonly message: string; readonly cause: unknown } & Timed)
  | ({ readonly type: 'HEARTBEAT_APPLIED'; readonly heartbeatId: number; readonly record: TokenRecord } & Timed)
  | ({ readonly type: 'HEARTBEAT_REFUSED'; readonly heartbeatId: number; readonly current: TokenRecord | undefined } & Timed)
  /** The heartbeat's outcome is unknown (ambiguous or failed write): the issuer keeps its old deadline. */
  | ({ readonly type: 'HEARTBEAT_UNKNOWN'; readonly heartbeatId: number } & Timed)
  | ({ readonly type: 'ISSUED'; readonly requestId: number; readonly token: string; readonly expiresAtMs?: number } & Timed)
  | ({ readonly type: 'ISSUE_REFUSED'; readonly requestId: number; readonly status: number | undefined } & Timed)
  | ({ readonly type: 'ISSUE_UNKNOWN'; readonly requestId: number } & Timed)
  | ({ readonly type: 'TIMER'; readonly timerId: number } & Timed)
  | ({ readonly type: 'CALLERS_GONE' } & Timed);

/** Params of the effects the machine asks the runtime to perform. */
export interface EffectParams {
  readRecord: { readonly requestId: number; readonly consistent: boolean };
  writeRecord: { readonly requestId: number; readonly request: WriteRequest };
  callIssuer: { readonly requestId: number; readonly leaseId: string; readonly abortAfterMs: number };
  /** A heartbeat: renew the held lease while `POST /auth` runs; answer with `HEARTBEAT_*` events. */
  renewLease: { readonly heartbeatId: number; readonly request: WriteRequest };
  /** A heartbeat applied: the running `POST /auth` (request `requestId`) is now aborted `abortAfterMs` from now. */
  extendIssuerDeadline: { readonly requestId: number; readonly abortAfterMs: number };
  /** The lease was lost to a takeover while `POST /auth` ran: abort it (its answer is ignored). */
  abortIssuer: { readonly requestId: number };
  startTimer: { readonly timerId: number; readonly delayMsMin: number; readonly delayMsMax: number };
  deliverToken: { readonly token: string; readonly generation: number; readonly issuedAtMs: number | undefined };
  failWaiters: { readonly failure: Failure };
  raiseAlarm: { readonly code: 'FRESH_TOKEN_REJECTED' | 'CLOCK_SKEW'; readonly message: string };
  /** A holder write was refused (or read back not applied) because the lease was no longer ours. */
  reportFenced: { readonly generation: number; readonly intent: 'publish' | 'renew' | 'release' | 'record-failure' };
  /** A lease this instance took over was confirmed (applied, or recognised on a read-back). */
  reportTakeover: { readonly staleHolder: string | undefined };
  /** A claim or takeover was settled: won (applied, or recognised on a read-back) or not. */
  reportClaim: { readonly intent: 'claim' | 'take-over'; readonly won: boolean };
  /** A token this instance got from the issuer is stored (the publish applied, or a read-back found it). */
  reportPublished: { readonly generation: number; readonly token: string };
}

/** Names of the effects. */
export type EffectType = keyof EffectParams;

/** One effect, as the runtime receives it from `transition`. */
export type Effect = { [K in EffectType]: { readonly type: K; readonly params: EffectParams[K] } }[EffectType];
