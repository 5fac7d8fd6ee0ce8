/**
 * Scenario parameters shared by both bench modes: latencies, the skew, the slow issuer, and
 * which fleet sizes each scenario runs at by default.
 */
import type { ScenarioName } from './result.js';

/** Default `POST /auth` latency. */
export const DEFAULT_AUTH_MS = 300;
/** Default DynamoDB round trip (virtual time). */
export const DEFAULT_DDB_MS = 10;
/** Round trip of one `POST /messages` to the chat API (virtual time). */
export const CHAT_POST_MS = 20;
/** Latencies are jittered by this fraction either way, so the fleet does not move in lock-step. */
export const LATENCY_JITTER_FRACTION = 0.2;
/** The skewed instance's clock runs this far ahead in `skewed-clock`. */
export const SKEWED_CLOCK_MS = 5_000;
/** Textbook: fixed back-off between lock polls. */
export const TEXTBOOK_POLL_MS = 200;
/** Textbook: a lock older than this (by comparing wall-clock timestamps) is taken over. */
export const TEXTBOOK_TAKEOVER_MS = 1_500;
/** `slow-issuer`: `POST /auth` takes this many leases. */
export const SLOW_ISSUER_FACTOR = 1.5;
/**
 * `slow-issuer`: every strategy's notion of a lease is this long (Baton's `leaseMs`, textbook's
 * fixed takeover), so one issuer latency is 1.5× the lease for both.
 */
export const SLOW_ISSUER_LEASE_MS = TEXTBOOK_TAKEOVER_MS;
/** `token-expiry`: tokens live this long (an hour, like a real chat API; virtual time skips the quiet part). */
export const TOKEN_TTL_MS = 3_600_000;

/**
 * `POST /auth` latency of a scenario: the configured one, except in `slow-issuer`.
 *
 * @example
 * ```ts
 * authMsFor('slow-issuer', 300); // 2250
 * ```
 */
export function authMsFor(scenario: ScenarioName, authMs: number): number {
  return scenario === 'slow-issuer' ? SLOW_ISSUER_FACTOR * SLOW_ISSUER_LEASE_MS : authMs;
}

/** Options of the bench's Baton coordinator that a scenario changes (everything else: library defaults). */
export interface BatonTuning {
  readonly leaseMs?: number;
  readonly pollMs?: number;
}

/**
 * Baton options per scenario: library defaults, except the lease in `slow-issuer`; `pollMs`
 * comes from the CLI when given.
 *
 * @example
 * ```ts
 * batonTuningFor('slow-issuer'); // { leaseMs: 1500 }
 * ```
 */
export function batonTuningFor(scenario: ScenarioName, pollMs?: number): BatonTuning {
  return {
    ...(scenario === 'slow-issuer' ? { leaseMs: SLOW_ISSUER_LEASE_MS } : {}),
    ...(pollMs === undefined ? {} : { pollMs }),
  };
}

/** Fleet sizes per scenario in virtual time when `--instances` is not given. */
export const VIRTUAL_INSTANCES_DEFAULT: Readonly<Record<ScenarioName, readonly number[]>> = {
  'invalidation-burst': [1, 10, 100, 1000],
  'token-expiry': [10, 100],
  'holder-crash': [10, 100],
  'slow-issuer': [10, 100],
  'skewed-clock': [10, 100],
};

/** The `--quick` subset in virtual time. */
export const VIRTUAL_INSTANCES_QUICK: Readonly<Record<ScenarioName, readonly number[]>> = {
  'invalidation-burst': [1, 10, 100],
  'token-expiry': [10],
  'holder-crash': [10],
  'slow-issuer': [10],
  'skewed-clock': [10],
};

/** Smallest fleet a scenario makes sense with (a crashed holder needs a survivor). */
export function instancesMinFor(scenario: ScenarioName): number {
  return scenario === 'holder-crash' ? 2 : 1;
}

/** How `token-expiry` traffic starts, for the docs. */
export const EXPIRY_NOTE = '1 s before the expiry in `token-expiry`, leaving room for a proactive refresh';
