import type { TokenRecord } from './record.js';
import type { CachedToken, MachineContext } from './types.js';

/**
 * Whether a token with this expiry is still good at `nowMs`. Tokens without a stated expiry
 * are good until rejected.
 *
 * @example
 * ```ts
 * notExpired(undefined, 5); // true
 * ```
 */
export function notExpired(expiresAtMs: number | undefined, nowMs: number): boolean {
  return expiresAtMs === undefined || nowMs < expiresAtMs;
}

/**
 * Whether the cached token may be handed to callers: present, not rejected here, not expired.
 *
 * @example
 * ```ts
 * if (cachedUsable(context, context.nowMs)) deliver(context.cached);
 * ```
 */
export function cachedUsable(context: Pick<MachineContext, 'cached' | 'rejectedToken'>, nowMs: number): context is { cached: CachedToken; rejectedToken: string | undefined } {
  const cached = context.cached;
  return cached !== undefined && cached.value !== context.rejectedToken && notExpired(cached.expiresAtMs, nowMs);
}

/**
 * Whether this instance should start a proactive refresh: the cached token is close to its
 * expiry (by this instance's jittered lead) and nobody is known to be on it.
 *
 * @example
 * ```ts
 * proactiveDue(context, nowMs);
 * ```
 */
export function proactiveDue(context: Pick<MachineContext, 'cached' | 'config' | 'proactiveHoldUntilMs'>, nowMs: number): boolean {
  const expiresAtMs = context.cached?.expiresAtMs;
  if (expiresAtMs === undefined || nowMs < context.proactiveHoldUntilMs) return false;
  return nowMs >= expiresAtMs - context.config.proactiveLeadMs;
}

/**
 * Whether the item holds a token other than `replaceToken` that has not expired.
 *
 * @example
 * ```ts
 * adoptable(record, 'old-token', nowMs); // record.token !== 'old-token' and not expired
 * ```
 */
export function adoptable(record: TokenRecord | undefined, replaceToken: string | undefined, nowMs: number): record is TokenRecord & { token: string } {
  return (
    record !== undefined &&
    record.token !== undefined &&
    record.token !== replaceToken &&
    record.invalidatedGeneration !== record.generation &&
    notExpired(record.tokenExpiresAtMs, nowMs)
  );
}

/**
 * Whether a recorded issuer back-off is still running at `nowMs`.
 *
 * @example
 * ```ts
 * backoffActive({ ...record, backoffUntilMs: 10 }, 5); // true
 * ```
 */
export function backoffActive(record: TokenRecord | undefined, nowMs: number): boolean {
  return record?.backoffUntilMs !== undefined && nowMs < record.backoffUntilMs;
}
