/**
 * `dynamo-baton/lambda`: the chat bot Lambda's building blocks, without side effects (nothing
 * reads the environment or connects anywhere on import). The deployable handler is `entry.ts`.
 *
 * @example
 * ```ts
 * import { createHandler, loadBotConfig } from 'dynamo-baton/lambda';
 * export const handler = createHandler(loadBotConfig(process.env));
 * ```
 *
 * @packageDocumentation
 */
export { createHandler, LAMBDA_SAFETY_MARGIN_MS } from './handler.js';
export type { BotHandler, BotHooks, InvocationLogLine, InvocationOutcome } from './handler.js';
export {
  BOT_CONFIG_INVALID,
  BotConfigError,
  DURATION_MS_MAX,
  ITEM_KEY_CHARS_MAX,
  LOCAL_REGION_DEFAULT,
  PARTITION_KEY_DEFAULT,
  REPLY_DEADLINE_MS_DEFAULT,
  loadBotConfig,
} from './config.js';
export type { BotConfig, BotConfigProblem, BotEnv } from './config.js';
export {
  MESSAGE_ID_CHARS_MAX,
  ROOM_CHARS_MAX,
  TEXT_CHARS_MAX,
  USER_CHARS_MAX,
  WEBHOOK_BODY_BYTES_MAX,
  parseWebhook,
} from './webhook.js';
export type { ChatWebhook, WebhookParseResult, WebhookProblem, WebhookRequest } from './webhook.js';
export { buildReply, replyIdFor, REPLY_ID_CHARS_MAX, REPLY_ID_PREFIX, REPLY_TEXT_CHARS_MAX } from './reply.js';
export type { BotReply } from './reply.js';
export { BOT_FAILURE_CODES, ISSUER_REFUSED_RETRY_AFTER_MS_DEFAULT, RETRY_AFTER_MS_DEFAULT, classifyFailure } from './outcome.js';
export type { FailureAnswer } from './outcome.js';
export { RETRY_AFTER_S_MIN, jsonResult, retryAfterSeconds } from './http.js';
export type { HttpApiEventV2, HttpApiResultV2, LambdaContextLike } from './http.js';
export { REDACTED_SECRET, Redactor } from './redact.js';
export {
  CHAT_ERROR_CODES,
  CHAT_FAILURE_KINDS,
  ChatApiError,
  ChatRateLimitedError,
  createChatClient,
  DEFAULT_CHAT_TIMEOUT_MS,
  RETRY_AFTER_MS_MAX,
} from './chat-client.js';
export type {
  ChatCallOptions,
  ChatClient,
  ChatClientOptions,
  ChatErrorCode,
  ChatFailureKind,
  ChatMessage,
  ChatOperation,
  IssuedChatToken,
} from './chat-client.js';
