/**
 * Every error Baton throws descends from {@link BatonError} and carries a stable `code` to switch on.
 * Messages say what went wrong and how to fix it; they never contain a token or a secret.
 */

/** Stable error codes. */
export const ERROR_CODES = {
  TOKEN_REJECTED: 'TOKEN_REJECTED',
  TOKEN_UNAVAILABLE: 'TOKEN_UNAVAILABLE',
  ATTEMPTS_EXHAUSTED: 'ATTEMPTS_EXHAUSTED',
  ISSUER_REFUSED: 'ISSUER_REFUSED',
  ISSUER_UNAVAILABLE: 'ISSUER_UNAVAILABLE',
  STORE_MISCONFIGURED: 'STORE_MISCONFIGURED',
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  RECORD_INVALID: 'RECORD_INVALID',
  INVALID_OPTIONS: 'INVALID_OPTIONS',
  PROTOCOL_VIOLATION: 'PROTOCOL_VIOLATION',
} as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * Root of every Baton error.
 *
 * @example
 * ```ts
 * try { await coordinator.withToken(send); } catch (error) {
 *   if (error instanceof BatonError && error.retryable) scheduleRetry();
 * }
 * ```
 */
export class BatonError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Whether trying the same call again later may succeed. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BatonError';
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/**
 * Thrown by *your* function passed to `withToken` when the API refused the token (HTTP 401).
 * The coordinator then refreshes (once for the whole fleet) and calls your function again.
 *
 * @example
 * ```ts
 * await coordinator.withToken(async (token) => {
 *   const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
 *   if (res.status === 401) throw new TokenRejectedError('chat API answered 401');
 *   return res.json();
 * });
 * ```
 */
export class TokenRejectedError extends BatonError {
  constructor(message = 'the API rejected the token', options?: { cause?: unknown }) {
    super(ERROR_CODES.TOKEN_REJECTED, message, { ...options, retryable: true });
    this.name = 'TokenRejectedError';
  }
}

/** Why a token could not be handed out in time. */
export const UNAVAILABLE_REASONS = ['deadline', 'aborted', 'round-limit', 'stopped'] as const;
/** One of {@link UNAVAILABLE_REASONS}. */
export type UnavailableReason = (typeof UNAVAILABLE_REASONS)[number];

/**
 * No usable token before the caller's deadline or abort (another instance may still be
 * refreshing). Retryable: nothing was sent with a wrong token.
 *
 * @example
 * ```ts
 * if (error instanceof TokenUnavailableError) console.log(error.reason); // 'deadline'
 * ```
 */
export class TokenUnavailableError extends BatonError {
  /** What cut the wait short. */
  readonly reason: UnavailableReason;
  constructor(reason: UnavailableReason, message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.TOKEN_UNAVAILABLE, message, { ...options, retryable: true });
    this.name = 'TokenUnavailableError';
    this.reason = reason;
  }
}

/**
 * Your function rejected `maxAttempts` tokens in a row: the refresh did not help.
 *
 * @example
 * ```ts
 * if (error instanceof AttemptsExhaustedError) alarm(error.attempts);
 * ```
 */
export class AttemptsExhaustedError extends BatonError {
  /** How many times the function was called. */
  readonly attempts: number;
  constructor(attempts: number, message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.ATTEMPTS_EXHAUSTED, message, { ...options, retryable: true });
    this.name = 'AttemptsExhaustedError';
    this.attempts = attempts;
  }
}

/**
 * The issuer refused the credentials (e.g. `POST /auth` answered 401/403: secrets rotated).
 * Throw it from `issueToken` to say the refusal is definite; the coordinator records it in the
 * item with a fleet-wide back-off and hands it to callers until the back-off ends.
 *
 * @example
 * ```ts
 * issueToken: async () => {
 *   const res = await fetch(authUrl, { method: 'POST' });
 *   if (res.status === 401 || res.status === 403) throw new IssuerRefusedError('POST /auth refused the secret', { status: res.status });
 *   return { token: (await res.json()).token };
 * }
 * ```
 */
export class IssuerRefusedError extends BatonError {
  /** HTTP status of the refusal, if known. */
  readonly status: number | undefined;
  /** Until when the fleet will not call the issuer again (epoch ms), once recorded. */
  readonly backoffUntilMs: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number; backoffUntilMs?: number }) {
    super(ERROR_CODES.ISSUER_REFUSED, message, { ...(options?.cause === undefined ? {} : { cause: options.cause }), retryable: false });
    this.name = 'IssuerRefusedError';
    this.status = options?.status;
    this.backoffUntilMs = options?.backoffUntilMs;
  }
}

/**
 * The issuer could not be reached or answered with an unknown outcome (5xx, timeout, dropped
 * connection) on every bounded attempt under one lease.
 *
 * @example
 * ```ts
 * if (error instanceof IssuerUnavailableError) retryLater();
 * ```
 */
export class IssuerUnavailableError extends BatonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.ISSUER_UNAVAILABLE, message, { ...options, retryable: true });
    this.name = 'IssuerUnavailableError';
  }
}

/**
 * The store is set up wrongly (table missing, access denied, wrong key schema). Not retryable:
 * the message says what to fix.
 *
 * @example
 * ```ts
 * if (error instanceof StoreMisconfiguredError) console.error(error.message);
 * ```
 */
export class StoreMisconfiguredError extends BatonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.STORE_MISCONFIGURED, message, { ...options, retryable: false });
    this.name = 'StoreMisconfiguredError';
  }
}

/**
 * The store could not be reached or did not answer (throttled, 5xx, network).
 *
 * @example
 * ```ts
 * if (error instanceof StoreUnavailableError) retryLater();
 * ```
 */
export class StoreUnavailableError extends BatonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.STORE_UNAVAILABLE, message, { ...options, retryable: true });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The stored item is malformed, of another shape, or of a newer schema version. Baton never
 * overwrites such an item; fix or delete it by hand.
 *
 * @example
 * ```ts
 * if (error instanceof RecordInvalidError) console.error(error.message);
 * ```
 */
export class RecordInvalidError extends BatonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERROR_CODES.RECORD_INVALID, message, { ...options, retryable: false });
    this.name = 'RecordInvalidError';
  }
}

/**
 * An option is missing or out of range. Thrown at construction.
 *
 * @example
 * ```ts
 * createTokenCoordinator({ store, issueToken, leaseMs: -1 }); // throws InvalidOptionsError naming leaseMs
 * ```
 */
export class InvalidOptionsError extends BatonError {
  /** The offending option's name. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(ERROR_CODES.INVALID_OPTIONS, message, { retryable: false });
    this.name = 'InvalidOptionsError';
    this.option = option;
  }
}

/**
 * An internal invariant failed. These assertions stay on in production: a violation means a
 * bug, and continuing could hand out a wrong token.
 *
 * @example
 * ```ts
 * if (error instanceof ProtocolViolationError) reportBug(error);
 * ```
 */
export class ProtocolViolationError extends BatonError {
  constructor(message: string) {
    super(ERROR_CODES.PROTOCOL_VIOLATION, message, { retryable: false });
    this.name = 'ProtocolViolationError';
  }
}

/**
 * Throws {@link ProtocolViolationError} unless `condition` holds. Always on.
 *
 * @example
 * ```ts
 * invariant(attempts <= maxAttempts, 'attempts stay bounded');
 * ```
 */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ProtocolViolationError(`invariant broken: ${message}`);
}
