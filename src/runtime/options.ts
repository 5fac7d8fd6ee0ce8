import {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_FRESH_TOKEN_MS,
  DEFAULT_ISSUER_ATTEMPTS_MAX,
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_POLL_MS,
  DEFAULT_REFRESH_MARGIN_MS,
  roundsMaxFor,
} from '../machine/config.js';
import type { ProtocolConfig } from '../machine/config.js';
import type { Clock, IssuedToken, IssueTokenContext, Logger, TokenCoordinatorOptions } from './api.js';
import { InvalidOptionsError } from './errors.js';
import type { BatonEvent } from './events.js';
import type { Scheduler } from './scheduler.js';
import { systemScheduler } from './scheduler.js';
import type { TokenStore } from './store.js';

/** Default attempts per `withToken` call. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Default wait for a token when a call names no deadline. */
export const DEFAULT_WAIT_MS_MAX = 30_000;
/** Most attempts a caller may ask for. */
export const MAX_ATTEMPTS_LIMIT = 10;
/** Shortest lease accepted: below this no real `POST /auth` fits. */
export const LEASE_MS_MIN = 100;
/** Longest lease accepted: a crashed holder blocks refreshes this long. */
export const LEASE_MS_MAX = 15 * 60_000;
/** Bounds of the poll interval. */
export const POLL_MS_MIN = 5;
/** Longest poll interval accepted. */
export const POLL_MS_MAX = 10_000;
/** Longest default wait accepted. */
export const WAIT_MS_MAX_LIMIT = 15 * 60_000;
/** Callers that may wait at once in one instance; more get a clear error instead of piling up. */
export const WAITERS_MAX = 10_000;

/** Every option `createTokenCoordinator` understands; anything else is a mistake worth reporting. */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'store',
  'issueToken',
  'leaseMs',
  'maxClockSkewMs',
  'maxAttempts',
  'refreshMarginMs',
  'pollMs',
  'waitMsMax',
  'freshTokenMs',
  'clock',
  'random',
  'logger',
  'onEvent',
  'scheduler',
  'instanceId',
] satisfies readonly (keyof TokenCoordinatorOptions)[]);

const SILENT_LOGGER: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Options after validation and defaults. */
export interface ResolvedOptions {
  readonly store: TokenStore;
  readonly issueToken: (context: IssueTokenContext) => Promise<IssuedToken>;
  readonly protocol: ProtocolConfig;
  readonly maxAttempts: number;
  readonly waitMsMax: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  readonly onEvent: ((event: BatonEvent) => void) | undefined;
  readonly instanceId: string;
  readonly scheduler: Scheduler;
}

function integerIn(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(name, `option ${name} must be an integer from ${min} to ${max}; got ${describeValue(value)}`);
  }
  return value;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number') return String(value);
  return value === null ? 'null' : typeof value;
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

function randomInstanceId(random: () => number): string {
  let id = 'i-';
  for (let i = 0; i < 12; i += 1) id += Math.floor(random() * 36).toString(36);
  return id;
}

/**
 * Validates user options and fills in defaults; throws {@link InvalidOptionsError} naming the
 * first bad option and its allowed range.
 *
 * @example
 * ```ts
 * const resolved = resolveOptions({ store, issueToken });
 * resolved.protocol.leaseMs; // 10_000
 * ```
 */
export function resolveOptions(options: TokenCoordinatorOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('options', 'createTokenCoordinator needs an options object with at least store and issueToken');
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) {
      throw new InvalidOptionsError(name, `unknown option ${name}; the options are: ${[...KNOWN_OPTIONS].join(', ')} (a typo such as leasMs would otherwise be ignored)`);
    }
  }
  if (!hasMethods(options.store, ['read', 'write', 'describe'])) {
    throw new InvalidOptionsError('store', 'option store is required: pass a DynamoDBTokenStore (or a MemoryTokenStore in tests)');
  }
  if (typeof options.issueToken !== 'function') {
    throw new InvalidOptionsError('issueToken', 'option issueToken is required: a function ({ signal }) => Promise<{ token, expiresAtMs? }> that performs POST /auth');
  }
  const leaseMs = integerIn('leaseMs', options.leaseMs, DEFAULT_LEASE_MS, LEASE_MS_MIN, LEASE_MS_MAX);
  // A short lease gets a proportionally short default skew allowance, so defaults always fit.
  const maxClockSkewMs = integerIn('maxClockSkewMs', options.maxClockSkewMs, Math.min(DEFAULT_MAX_CLOCK_SKEW_MS, Math.floor(leaseMs / 2)), 0, leaseMs);
  const pollMs = integerIn('pollMs', options.pollMs, DEFAULT_POLL_MS, POLL_MS_MIN, Math.min(POLL_MS_MAX, leaseMs));
  const maxAttempts = integerIn('maxAttempts', options.maxAttempts, DEFAULT_MAX_ATTEMPTS, 1, MAX_ATTEMPTS_LIMIT);
  const refreshMarginMs = integerIn('refreshMarginMs', options.refreshMarginMs, DEFAULT_REFRESH_MARGIN_MS, 0, 24 * 3_600_000);
  const waitMsMax = integerIn('waitMsMax', options.waitMsMax, DEFAULT_WAIT_MS_MAX, 1, WAIT_MS_MAX_LIMIT);
  const freshTokenMs = integerIn('freshTokenMs', options.freshTokenMs, DEFAULT_FRESH_TOKEN_MS, 0, 3_600_000);
  if (options.clock !== undefined && !hasMethods(options.clock, ['now'])) throw new InvalidOptionsError('clock', 'option clock must be an object with now(): number (epoch ms)');
  if (options.random !== undefined && typeof options.random !== 'function') throw new InvalidOptionsError('random', 'option random must be a function returning a number in [0, 1)');
  if (options.logger !== undefined && !hasMethods(options.logger, ['debug', 'info', 'warn', 'error'])) {
    throw new InvalidOptionsError('logger', 'option logger must have debug, info, warn and error methods (console works)');
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new InvalidOptionsError('onEvent', 'option onEvent must be a function');
  if (options.instanceId !== undefined && (typeof options.instanceId !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(options.instanceId))) {
    throw new InvalidOptionsError('instanceId', 'option instanceId must be 1 to 64 characters of letters, digits, ".", "_", ":" or "-"');
  }
  const scheduler = options.scheduler;
  if (scheduler !== undefined && !hasMethods(scheduler, ['setTimeout', 'clearTimeout'])) {
    throw new InvalidOptionsError('scheduler', 'option scheduler must have setTimeout and clearTimeout');
  }
  const random = options.random ?? Math.random;
  const proactiveJitterMs = Math.floor(random() * (refreshMarginMs / 2));
  return {
    store: options.store,
    issueToken: options.issueToken,
    protocol: {
      leaseMs,
      maxClockSkewMs,
      pollMs,
      proactiveLeadMs: refreshMarginMs - proactiveJitterMs,
      freshTokenMs,
      issuerAttemptsMax: DEFAULT_ISSUER_ATTEMPTS_MAX,
      roundsMax: roundsMaxFor({ leaseMs, maxClockSkewMs, pollMs, issuerAttemptsMax: DEFAULT_ISSUER_ATTEMPTS_MAX }),
      backoffBaseMs: DEFAULT_BACKOFF_BASE_MS,
      backoffMaxMs: DEFAULT_BACKOFF_MAX_MS,
    },
    maxAttempts,
    waitMsMax,
    clock: options.clock ?? { now: () => Date.now() },
    random,
    logger: options.logger ?? SILENT_LOGGER,
    onEvent: options.onEvent,
    instanceId: options.instanceId ?? randomInstanceId(random),
    scheduler: scheduler ?? systemScheduler,
  };
}
