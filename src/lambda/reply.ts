/**
 * What the bot answers to a webhook. Deterministic: the same webhook always yields the same
 * reply id, so a redelivered webhook is recognised by the chat API as a duplicate, never posted
 * twice.
 */
import { createHash } from 'node:crypto';
import type { ChatWebhook } from './webhook.js';

/** Longest reply id the chat API accepts, in characters. */
export const REPLY_ID_CHARS_MAX = 128;
/** Longest reply text the chat API accepts, in UTF-16 code units. */
export const REPLY_TEXT_CHARS_MAX = 4000;
/** Prefix of every reply id. */
export const REPLY_ID_PREFIX = 'reply:';
/** Prefix used instead when `reply:<messageId>` would be too long. */
const HASHED_REPLY_ID_PREFIX = 'reply:sha256:';
/** Appended to a truncated echo. */
const ELLIPSIS = '…';

/**
 * A reply as `POST /messages` takes it.
 *
 * @example
 * ```ts
 * const reply: BotReply = { messageId: 'reply:m-42', room: 'general', text: '@ada you said: hi', inReplyTo: 'm-42' };
 * ```
 */
export interface BotReply {
  /** Idempotency key of the reply, derived from the webhook's id. */
  readonly messageId: string;
  /** Same room as the webhook. */
  readonly room: string;
  /** Non-empty reply text mentioning the user. */
  readonly text: string;
  /** The webhook's `messageId`. */
  readonly inReplyTo: string;
}

/**
 * The reply's id: `reply:<messageId>`, or `reply:sha256:<hex>` when that would exceed
 * {@link REPLY_ID_CHARS_MAX} (a webhook id may itself be 128 characters long).
 *
 * @example
 * ```ts
 * replyIdFor('m-42'); // 'reply:m-42'
 * ```
 */
export function replyIdFor(messageId: string): string {
  const plain = `${REPLY_ID_PREFIX}${messageId}`;
  if (plain.length <= REPLY_ID_CHARS_MAX) return plain;
  return `${HASHED_REPLY_ID_PREFIX}${createHash('sha256').update(messageId).digest('hex')}`;
}

/** Cuts `text` to at most `charsMax` UTF-16 code units without splitting a surrogate pair. */
function truncate(text: string, charsMax: number): string {
  if (text.length <= charsMax) return text;
  let end = charsMax - ELLIPSIS.length;
  const last = text.charCodeAt(end - 1);
  // A high surrogate as the last kept unit would be half an emoji: drop it too.
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${ELLIPSIS}`;
}

/**
 * Builds the bot's reply to `webhook`: an echo mentioning the user, in the same room.
 *
 * @example
 * ```ts
 * buildReply({ messageId: 'm-42', room: 'general', user: 'ada', text: 'hi', sentAtMs: 0 });
 * // { messageId: 'reply:m-42', room: 'general', text: '@ada you said: hi', inReplyTo: 'm-42' }
 * ```
 */
export function buildReply(webhook: ChatWebhook): BotReply {
  const echo = webhook.text === '' ? `@${webhook.user} sent an empty message` : `@${webhook.user} you said: ${webhook.text}`;
  return {
    messageId: replyIdFor(webhook.messageId),
    room: webhook.room,
    text: truncate(echo, REPLY_TEXT_CHARS_MAX),
    inReplyTo: webhook.messageId,
  };
}
