/**
 * Maps why a reply was not sent to an HTTP answer for the chat service. The rule: nothing is
 * lost. Every failure is a 5xx, which the chat service redelivers; 503 with `Retry-After` when
 * waiting helps, 500 when an operator must fix something first. Redelivery is safe because the
 * reply id is derived from the webhook id, so the chat API deduplicates it.
 */
import { BatonError, ERROR_CODES, IssuerRefusedError } from '../runtime/errors.js';
import { ChatApiError, ChatRateLimitedError } from './chat-client.js';

/** Wait suggested after a retryable failure that carries no hint of its own. */
export const RETRY_AFTER_MS_DEFAULT = 2_000;
/** Wait suggested after a credentials refusal whose fleet-wide back-off end is unknown. */
export const ISSUER_REFUSED_RETRY_AFTER_MS_DEFAULT = 60_000;

/** Codes the bot adds to Baton's and the chat client's own. */
export const BOT_FAILURE_CODES = {
  /** The chat API could not be reached or failed (5xx, network, timeout): outcome unknown. */
  CHAT_UNAVAILABLE: 'CHAT_UNAVAILABLE',
  /** The chat API refused the reply itself (a 4xx other than 401/429). */
  CHAT_REQUEST_REFUSED: 'CHAT_REQUEST_REFUSED',
  /** Anything unexpected; details are in the function's log. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

/**
 * How one failure is answered.
 *
 * @example
 * ```ts
 * const failure: FailureAnswer = { statusCode: 503, code: 'TOKEN_UNAVAILABLE', reason: 'no token before the deadline', retryAfterMs: 2_000, expected: true };
 * ```
 */
export interface FailureAnswer {
  /** 503 (retry later) or 500 (fix something first). */
  readonly statusCode: 500 | 503;
  /** Stable code, from Baton, the chat client or {@link BOT_FAILURE_CODES}. */
  readonly code: string;
  /** Human-readable reason, safe to show (no token, no secret). */
  readonly reason: string;
  /** Wait to announce in `Retry-After`, for 503s. */
  readonly retryAfterMs?: number;
  /** `false` for errors nobody anticipated: log them with their stack. */
  readonly expected: boolean;
}

/** Answer for a chat API failure other than a rate limit: transient (503) or the request itself (500). */
function chatApiAnswer(error: ChatApiError): FailureAnswer {
  const status = error.status;
  // 5xx, 408 and transport failures are transient; other 4xx mean the request itself is wrong.
  if (status === undefined || status >= 500 || status === 408) {
    return { statusCode: 503, code: BOT_FAILURE_CODES.CHAT_UNAVAILABLE, reason: `the chat API failed: ${error.message}`, retryAfterMs: RETRY_AFTER_MS_DEFAULT, expected: true };
  }
  return { statusCode: 500, code: BOT_FAILURE_CODES.CHAT_REQUEST_REFUSED, reason: `the chat API refused the reply: ${error.message}`, expected: true };
}

/**
 * Classifies an error thrown by `withToken` (or by the chat client inside it).
 *
 * @param nowMs - Current time, to turn a back-off end into a wait.
 * @example
 * ```ts
 * const failure = classifyFailure(error, clock.now());
 * return { statusCode: failure.statusCode, … };
 * ```
 */
export function classifyFailure(error: unknown, nowMs: number): FailureAnswer {
  if (error instanceof ChatRateLimitedError) {
    return {
      statusCode: 503,
      code: error.code,
      reason: `the chat API rate-limited the reply (HTTP 429; a rate limit, not a token problem); retry after ${error.retryAfterMs} ms`,
      retryAfterMs: error.retryAfterMs,
      expected: true,
    };
  }
  if (error instanceof IssuerRefusedError) {
    const waitMs = error.backoffUntilMs === undefined ? ISSUER_REFUSED_RETRY_AFTER_MS_DEFAULT : error.backoffUntilMs - nowMs;
    const until = error.backoffUntilMs === undefined ? '' : `; no new token is requested before ${new Date(error.backoffUntilMs).toISOString()}`;
    return {
      statusCode: 503,
      code: error.code,
      reason: `the chat API refused the bot's credentials (POST /auth answered ${error.status ?? 'a refusal'}): check CHAT_AUTH_SECRET${until}`,
      retryAfterMs: waitMs,
      expected: true,
    };
  }
  if (error instanceof ChatApiError) return chatApiAnswer(error);
  if (error instanceof BatonError) {
    if (error.retryable) return { statusCode: 503, code: error.code, reason: error.message, retryAfterMs: RETRY_AFTER_MS_DEFAULT, expected: true };
    const known = error.code === ERROR_CODES.STORE_MISCONFIGURED || error.code === ERROR_CODES.RECORD_INVALID;
    return { statusCode: 500, code: error.code, reason: error.message, expected: known };
  }
  return { statusCode: 500, code: BOT_FAILURE_CODES.INTERNAL_ERROR, reason: 'internal error; the details are in the function log', expected: false };
}
