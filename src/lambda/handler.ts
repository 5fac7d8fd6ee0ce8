/**
 * The bot Lambda as a thin adapter: validate the webhook, reply through the shared token, map
 * the outcome to an HTTP answer the chat service understands. One coordinator per handler, and
 * one handler per Lambda instance (built at module scope by `entry.ts`), so warm invocations
 * reuse the cached token without touching DynamoDB.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock, Logger, TokenCoordinator, TokenCoordinatorOptions } from '../runtime/api.js';
import { createTokenCoordinator } from '../runtime/coordinator.js';
import { DynamoDBTokenStore } from '../runtime/dynamodb-store.js';
import type { BatonEvent } from '../runtime/events.js';
import { fingerprint } from '../runtime/fingerprint.js';
import type { TokenStore } from '../runtime/store.js';
import { createChatClient } from './chat-client.js';
import type { ChatClient } from './chat-client.js';
import type { BotConfig } from './config.js';
import { jsonResult, retryAfterSeconds } from './http.js';
import type { HttpApiEventV2, HttpApiResultV2, LambdaContextLike } from './http.js';
import { classifyFailure } from './outcome.js';
import { Redactor } from './redact.js';
import { buildReply } from './reply.js';
import { parseWebhook } from './webhook.js';
import type { WebhookProblem } from './webhook.js';

/**
 * Time kept back from Lambda's remaining time: the reply must be abandoned (and a 503 returned)
 * before Lambda kills the invocation, or the chat service sees a bare timeout.
 */
export const LAMBDA_SAFETY_MARGIN_MS = 1_000;

/** What one invocation ended with, as logged. */
export type InvocationOutcome = 'sent' | 'not-sent' | 'bad-request' | 'method-not-allowed';

/**
 * The one structured line logged per invocation (tokens only as fingerprints).
 *
 * @example
 * ```ts
 * const line: InvocationLogLine = { msg: 'baton-bot invocation', outcome: 'sent', statusCode: 200, durationMs: 12, messageId: 'm-42' };
 * ```
 */
export interface InvocationLogLine {
  /** Always `'baton-bot invocation'`, to filter on. */
  readonly msg: 'baton-bot invocation';
  /** How it ended. */
  readonly outcome: InvocationOutcome;
  /** HTTP status returned. */
  readonly statusCode: number;
  /** Wall time of the invocation on the handler's clock. */
  readonly durationMs: number;
  /** Lambda's (or API Gateway's) request id. */
  readonly requestId?: string;
  /** The webhook's id, once parsed. */
  readonly messageId?: string;
  /** Id of the reply posted (or attempted). */
  readonly replyId?: string;
  /** Error code of a failure. */
  readonly code?: string;
  /** Reason of a failure (safe text). */
  readonly reason?: string;
  /** Whether the chat API had already seen the reply. */
  readonly duplicate?: boolean;
  /** Fingerprint of the last token used. */
  readonly tokenFingerprint?: string;
  /** `Retry-After` announced, in seconds. */
  readonly retryAfterS?: number;
  /** Details of an unexpected error (scrubbed). */
  readonly error?: { readonly name: string; readonly message: string; readonly stack?: string };
  /** What was wrong with the request, for 400/405. */
  readonly reasons?: readonly WebhookProblem[];
}

/**
 * Test and embedding hooks of {@link createHandler}.
 *
 * @example
 * ```ts
 * const hooks: BotHooks = { store: new MemoryTokenStore(), logger: captured, coordinatorOptions: { pollMs: 10 } };
 * ```
 */
export interface BotHooks {
  /**
   * Receives every Baton protocol event.
   * @defaultValue none
   */
  readonly onEvent?: (event: BatonEvent) => void;
  /**
   * Where the invocation lines and the coordinator's warnings go.
   * @defaultValue `console`
   */
  readonly logger?: Logger;
  /**
   * Clock of the handler and the coordinator, epoch ms.
   * @defaultValue the system clock
   */
  readonly clock?: Clock;
  /**
   * Overrides of the coordinator's options (applied last, so they win over the config).
   * @defaultValue none
   */
  readonly coordinatorOptions?: Partial<TokenCoordinatorOptions>;
  /**
   * The token store to use instead of DynamoDB (e.g. a `MemoryTokenStore` in tests).
   * @defaultValue a `DynamoDBTokenStore` on the configured table
   */
  readonly store?: TokenStore;
  /**
   * The chat client to use instead of one built from the config.
   * @defaultValue `createChatClient({ baseUrl: config.chatApiUrl, secret: config.chatAuthSecret })`
   */
  readonly chatClient?: ChatClient;
}

/**
 * A payload v2 Lambda handler, with its coordinator exposed for diagnostics.
 *
 * @example
 * ```ts
 * const handler: BotHandler = createHandler(config);
 * await handler(event, context);
 * handler.coordinator.stats().cacheHits;
 * ```
 */
export interface BotHandler {
  (event: HttpApiEventV2, context?: LambdaContextLike): Promise<HttpApiResultV2>;
  /** The one coordinator all invocations of this handler share. */
  readonly coordinator: TokenCoordinator;
}

const systemClock: Clock = { now: () => Date.now() };

/** Builds the store the config describes. */
function dynamoStore(config: BotConfig): TokenStore {
  const client = new DynamoDBClient({ region: config.region, ...(config.dynamodbEndpoint === undefined ? {} : { endpoint: config.dynamodbEndpoint }) });
  return new DynamoDBTokenStore({ client, tableName: config.tableName, key: config.itemKey, partitionKey: config.partitionKey });
}

/** The request's HTTP method, or `undefined` when `event` is not a payload v2 HTTP event at all. */
function methodOf(event: unknown): string | undefined {
  const method = (event as { requestContext?: { http?: { method?: unknown } } } | null | undefined)?.requestContext?.http?.method;
  return typeof method === 'string' ? method : undefined;
}

/** Calls the logger, never letting a failing logger change the answer. */
function emit(logger: Logger, level: 'info' | 'warn' | 'error', line: string): void {
  try {
    logger[level](line);
  } catch {
    // A broken logger must not turn a delivered reply into a failure (and a redelivery).
  }
}

/**
 * Creates the bot's Lambda handler and its one coordinator. Call it once per Lambda instance,
 * at module scope, so warm invocations reuse the cached token.
 *
 * Answers: 200 `{ status: 'sent', replyId, duplicate }`; 400 `{ error: 'bad-request', reasons }`
 * (no token is fetched); 405 for anything but `POST`; 503 with `Retry-After` and
 * `{ status: 'not-sent', code, reason }` when retrying later helps; 500 with the same body when
 * an operator must act first. Every failure is a 5xx so the chat service redelivers it.
 *
 * @example
 * ```ts
 * export const handler = createHandler(loadBotConfig(process.env));
 * ```
 */
export function createHandler(config: BotConfig, hooks: BotHooks = {}): BotHandler {
  const clock = hooks.clock ?? systemClock;
  const logger = hooks.logger ?? console;
  const chat =
    hooks.chatClient ?? createChatClient({ baseUrl: config.chatApiUrl, secret: config.chatAuthSecret, timeoutMs: config.replyDeadlineMs });
  const coordinator = createTokenCoordinator({
    store: hooks.store ?? dynamoStore(config),
    issueToken: ({ signal }) => chat.issueToken({ signal }),
    clock,
    logger,
    ...(hooks.onEvent === undefined ? {} : { onEvent: hooks.onEvent }),
    ...(config.leaseMs === undefined ? {} : { leaseMs: config.leaseMs }),
    ...hooks.coordinatorOptions,
  });

  async function handle(event: HttpApiEventV2, context?: LambdaContextLike): Promise<HttpApiResultV2> {
    const startedMs = clock.now();
    const redactor = new Redactor(config.chatAuthSecret);
    const requestId = context?.awsRequestId ?? (event as Partial<HttpApiEventV2> | undefined)?.requestContext?.requestId;

    /** Logs the invocation line and returns the answer, both scrubbed of secrets and tokens. */
    const finish = (
      level: 'info' | 'warn' | 'error',
      line: Omit<InvocationLogLine, 'msg' | 'durationMs' | 'requestId' | 'statusCode'>,
      statusCode: number,
      body: unknown,
      headers: Readonly<Record<string, string>> = {},
    ): HttpApiResultV2 => {
      const logged: InvocationLogLine = {
        msg: 'baton-bot invocation',
        ...(requestId === undefined ? {} : { requestId }),
        ...line,
        statusCode,
        durationMs: clock.now() - startedMs,
      };
      emit(logger, level, redactor.scrub(JSON.stringify(logged)));
      return jsonResult(statusCode, redactor.scrub(JSON.stringify(body)), headers);
    };

    const method = methodOf(event);
    if (method === undefined) {
      const reasons: WebhookProblem[] = [
        { field: 'event', problem: 'is not an HTTP request (requestContext.http.method is missing)', expected: 'a Lambda Function URL or API Gateway HTTP API event, payload format 2.0' },
      ];
      return finish('warn', { outcome: 'bad-request', reasons }, 400, { error: 'bad-request', reasons });
    }
    if (method.toUpperCase() !== 'POST') {
      const reasons: WebhookProblem[] = [{ field: 'method', problem: `is ${method.slice(0, 16)}`, expected: 'POST with the webhook as JSON body' }];
      return finish('warn', { outcome: 'method-not-allowed', reasons }, 405, { error: 'method-not-allowed', reasons }, { allow: 'POST' });
    }

    // Validation comes before any coordinator call: a bad request must never cost a refresh.
    const parsed = parseWebhook({ body: event.body, isBase64Encoded: event.isBase64Encoded });
    if (!parsed.ok) return finish('warn', { outcome: 'bad-request', reasons: parsed.reasons }, 400, { error: 'bad-request', reasons: parsed.reasons });

    const { webhook } = parsed;
    const reply = buildReply(webhook);
    const nowMs = clock.now();
    const lambdaLimitMs = context === undefined ? Number.POSITIVE_INFINITY : nowMs + context.getRemainingTimeInMillis() - LAMBDA_SAFETY_MARGIN_MS;
    const deadlineMs = Math.min(nowMs + config.replyDeadlineMs, lambdaLimitMs);
    // The same bound also cuts an in-flight POST short, so we always answer before Lambda kills us.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error('reply deadline reached')), Math.max(0, deadlineMs - nowMs));
    let tokenFingerprint: string | undefined;
    const known = { messageId: webhook.messageId, replyId: reply.messageId };
    try {
      const { duplicate } = await coordinator.withToken(
        (token) => {
          redactor.addToken(token);
          tokenFingerprint = fingerprint(token);
          return chat.postMessage(token, reply, { signal: abort.signal });
        },
        { deadlineMs, signal: abort.signal },
      );
      const used = tokenFingerprint === undefined ? {} : { tokenFingerprint };
      return finish('info', { outcome: 'sent', ...known, duplicate, ...used }, 200, { status: 'sent', replyId: reply.messageId, duplicate });
    } catch (error) {
      const failure = classifyFailure(error, clock.now());
      const used = tokenFingerprint === undefined ? {} : { tokenFingerprint };
      const retry = failure.retryAfterMs === undefined ? undefined : retryAfterSeconds(failure.retryAfterMs);
      const details = failure.expected ? {} : { error: describeError(error) };
      const line = { outcome: 'not-sent' as const, ...known, code: failure.code, reason: failure.reason, ...used, ...(retry === undefined ? {} : { retryAfterS: retry }), ...details };
      const body = { status: 'not-sent', code: failure.code, reason: failure.reason };
      return finish(failure.statusCode === 503 ? 'warn' : 'error', line, failure.statusCode, body, retry === undefined ? {} : { 'retry-after': String(retry) });
    } finally {
      clearTimeout(timer);
    }
  }

  return Object.assign(handle, { coordinator });
}

/** Name, message and stack of an unexpected error, for the log (scrubbed by the caller). */
function describeError(error: unknown): { name: string; message: string; stack?: string } {
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  return { name: typeof error, message: String(error) };
}
