/**
 * Protocol timing and bounds. Every limit the machine obeys lives here, with units last.
 * The runtime fills it from user options; the simulator and explorer fill it directly.
 */
export interface ProtocolConfig {
  /** Length of a refresh lease. */
  readonly leaseMs: number;
  /** Clock difference between instances the wall-clock staleness rule tolerates. */
  readonly maxClockSkewMs: number;
  /** Follower poll interval (jittered by the runtime between 0.75× and 1.25×). */
  readonly pollMs: number;
  /** This instance refreshes proactively when a token has this long left (margin minus its jitter). */
  readonly proactiveLeadMs: number;
  /** A rejected token younger than this raises an alarm. */
  readonly freshTokenMs: number;
  /** `POST /auth` attempts with an unknown outcome allowed under one episode. */
  readonly issuerAttemptsMax: number;
  /** Decisions (reads, writes, polls) one episode may take before it gives up. */
  readonly roundsMax: number;
  /** First back-off after the issuer refused the credentials; doubles per failure in a row. */
  readonly backoffBaseMs: number;
  /** Longest back-off. */
  readonly backoffMaxMs: number;
}

/** Default lease length: well above a slow `POST /auth`, well below a Lambda timeout. */
export const DEFAULT_LEASE_MS = 10_000;
/** Default tolerated clock skew between instances (NTP-synced hosts stay far below this). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 1_000;
/** Default follower poll interval. */
export const DEFAULT_POLL_MS = 100;
/** Default proactive refresh margin before the issuer's expiry. */
export const DEFAULT_REFRESH_MARGIN_MS = 60_000;
/** Default age below which a rejected token raises an alarm. */
export const DEFAULT_FRESH_TOKEN_MS = 2_000;
/** Default unknown-outcome `POST /auth` attempts per episode. */
export const DEFAULT_ISSUER_ATTEMPTS_MAX = 3;
/** Default first back-off after a refused `POST /auth`. */
export const DEFAULT_BACKOFF_BASE_MS = 5_000;
/** First fleet-wide pause after `POST /auth` failed with unknown outcomes under one lease. */
export const UNAVAILABLE_BACKOFF_BASE_MS = 1_000;
/** Default longest back-off after refused `POST /auth` calls in a row. */
export const DEFAULT_BACKOFF_MAX_MS = 300_000;
/** The issuer's abort signal fires this fraction of the lease before the lease runs out. */
export const ISSUER_ABORT_MARGIN_FRACTION = 0.2;
/**
 * `POST /auth` is called only with at least this fraction of its full time budget left (the
 * lease minus the abort margin, counted from when the lease write was sent). A holder whose
 * claim or renewal answered later renews first: a call with no time left would be aborted at
 * once, yet might still reach the issuer and kill the current token.
 */
export const ISSUER_BUDGET_MIN_FRACTION = 0.5;
/**
 * Renewals in a row made only to regain time for `POST /auth`. More means the store answers
 * slower than the lease allows: the holder releases its lease and fails its callers.
 */
export const BUDGET_RENEWALS_MAX = 2;
/**
 * A holder waiting on `POST /auth` renews its lease (a heartbeat) this fraction of the lease
 * after the lease's last write was sent, and again that long after each applied heartbeat; each
 * applied heartbeat moves the issuer's abort point to the same margin before the renewed lease
 * ends. An issuer slower than the lease is then waited for instead of aborted in a loop.
 */
export const HEARTBEAT_FRACTION = 0.4;
/**
 * Applied heartbeats one episode may use. One `POST /auth` call lasts at most
 * `(1 - ISSUER_ABORT_MARGIN_FRACTION + HEARTBEATS_MAX × HEARTBEAT_FRACTION) × leaseMs` (2.8
 * leases); a call aborted with the budget spent is not retried (the issuer is too slow), and the
 * whole episode holds its lease for at most {@link leaseHoldMsMax}.
 */
export const HEARTBEATS_MAX = 5;
/**
 * A follower that predicts when the holder publishes (from the last refresh it saw) polls this
 * fraction of `pollMs` after that moment: the publish write itself takes a store round trip.
 */
export const EXPECTED_PUBLISH_MARGIN_FRACTION = 0.15;
/**
 * After the predicted publish, polls come this fraction of `pollMs` apart, for one `pollMs`;
 * then the normal pace resumes (the prediction was wrong: the issuer is slower this time).
 */
export const FAST_POLL_FRACTION = 0.25;
/** Shortest poll delay, as a fraction of `pollMs`. */
export const POLL_JITTER_MIN_FRACTION = 0.75;
/** Longest poll delay, as a fraction of `pollMs`. */
export const POLL_JITTER_MAX_FRACTION = 1.25;
/** Writes with an unknown outcome one episode tolerates before failing its callers. */
export const AMBIGUOUS_WRITES_MAX = 3;
/** Decisions an episode needs beyond its polls: claim, refresh, renewals, publish, read-backs. */
export const ROUNDS_SLACK = 32;

/**
 * Longest a live holder keeps one lease while calling the issuer: each of its `issuerAttemptsMax`
 * calls runs to the abort point, and heartbeats add at most `HEARTBEATS_MAX × HEARTBEAT_FRACTION`
 * leases in all (store round trips aside).
 *
 * @example
 * ```ts
 * leaseHoldMsMax({ leaseMs: 10_000, issuerAttemptsMax: 3 }); // 44_000
 * ```
 */
export function leaseHoldMsMax(timing: { leaseMs: number; issuerAttemptsMax: number }): number {
  return Math.round(timing.leaseMs * (timing.issuerAttemptsMax * (1 - ISSUER_ABORT_MARGIN_FRACTION) + HEARTBEATS_MAX * HEARTBEAT_FRACTION));
}

/**
 * Rounds an episode may take: enough polls to wait out a live holder (its lease kept for up to
 * {@link leaseHoldMsMax}), then a stale lease, plus slack.
 *
 * @example
 * ```ts
 * roundsMaxFor({ leaseMs: 10_000, maxClockSkewMs: 1_000, pollMs: 100, issuerAttemptsMax: 3 }); // 779
 * ```
 */
export function roundsMaxFor(timing: { leaseMs: number; maxClockSkewMs: number; pollMs: number; issuerAttemptsMax: number }): number {
  const waitMsMax = leaseHoldMsMax(timing) + timing.leaseMs + 2 * timing.maxClockSkewMs;
  return Math.ceil(waitMsMax / (timing.pollMs * POLL_JITTER_MIN_FRACTION)) + ROUNDS_SLACK;
}

/**
 * Back-off after `failureCount` refused refreshes in a row: base doubling, capped.
 *
 * @example
 * ```ts
 * backoffMsFor(3, { backoffBaseMs: 5_000, backoffMaxMs: 300_000 }); // 20_000
 * ```
 */
export function backoffMsFor(failureCount: number, config: Pick<ProtocolConfig, 'backoffBaseMs' | 'backoffMaxMs'>): number {
  const exponent = Math.min(Math.max(failureCount - 1, 0), 30);
  return Math.min(config.backoffBaseMs * 2 ** exponent, config.backoffMaxMs);
}

/**
 * Time left for a `POST /auth` under a lease whose write was sent at `leaseStartedAtMs`: until
 * the abort point ({@link ISSUER_ABORT_MARGIN_FRACTION} before the lease runs out). Never more
 * than the full budget: a clock stepped back between the write and its answer must not stretch it.
 *
 * @example
 * ```ts
 * issuerBudgetMs(1_000, 1_300, { leaseMs: 10_000 }); // 7_700
 * ```
 */
export function issuerBudgetMs(leaseStartedAtMs: number, nowMs: number, config: Pick<ProtocolConfig, 'leaseMs'>): number {
  const fullMs = config.leaseMs * (1 - ISSUER_ABORT_MARGIN_FRACTION);
  return Math.min(leaseStartedAtMs + fullMs - nowMs, fullMs);
}

/**
 * Whether a holder may call `POST /auth` now: at least {@link ISSUER_BUDGET_MIN_FRACTION} of the
 * full budget is left.
 *
 * @example
 * ```ts
 * issuerBudgetLeft(0, 5_000, { leaseMs: 10_000 }); // false: 3_000 ms left of 8_000
 * ```
 */
export function issuerBudgetLeft(leaseStartedAtMs: number, nowMs: number, config: Pick<ProtocolConfig, 'leaseMs'>): boolean {
  return issuerBudgetMs(leaseStartedAtMs, nowMs, config) >= config.leaseMs * (1 - ISSUER_ABORT_MARGIN_FRACTION) * ISSUER_BUDGET_MIN_FRACTION;
}
