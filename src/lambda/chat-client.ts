/**
 * The bot's client for the chat API: `POST /auth` to get a token, `POST /messages` to post.
 *
 * Failures are typed so the coordinator can tell them apart:
 * - `issueToken`: 401/403 → {@link IssuerRefusedError} (definite: the secret is refused); anything
 *   else (5xx, network, dropped connection, timeout, abort, malformed answer) → {@link ChatApiError},
 *   meaning *outcome unknown*: a token may have been issued, so retry under the same lease.
 * - `postMessage`: 401 → {@link TokenRejectedError}; 429 → {@link ChatRateLimitedError} (never a
 *   token rejection); anything else → {@link ChatApiError}.
 *
 * No error message ever contains the token or the secret; tokens appear only as fingerprints.
 */
import { IssuerRefusedError, InvalidOptionsError, TokenRejectedError } from '../runtime/errors.js';
import { fingerprint } from '../runtime/fingerprint.js';

/** Default bound on one request, response body included. */
export const DEFAULT_CHAT_TIMEOUT_MS = 5_000;
/** Longest timeout accepted (Lambda's own limit is 15 minutes). */
export const CHAT_TIMEOUT_MS_MAX = 15 * 60 * 1000;
/** Largest response body read; larger answers are treated as malformed. */
export const RESPONSE_BODY_BYTES_MAX = 64 * 1024;
/** Wait suggested by a 429 that says neither `retryAfterMs` nor `Retry-After`. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;
/** Longest wait a 429 may suggest; longer values are clamped so one answer cannot stall the bot. */
export const RETRY_AFTER_MS_MAX = 60 * 60 * 1000;
/** Longest server-provided detail quoted in an error message. */
const DETAIL_CHARS_MAX = 200;
/** How deep a cause chain is searched for leaked secrets. */
const CAUSE_DEPTH_MAX = 5;
/** Tokens and ids go into headers and logs: printable ASCII without spaces only. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** Stable codes of the chat client's own errors. */
export const CHAT_ERROR_CODES = {
  CHAT_API_ERROR: 'CHAT_API_ERROR',
  CHAT_RATE_LIMITED: 'CHAT_RATE_LIMITED',
} as const;
/** One of {@link CHAT_ERROR_CODES}. */
export type ChatErrorCode = (typeof CHAT_ERROR_CODES)[keyof typeof CHAT_ERROR_CODES];

/** What failed in a {@link ChatApiError}. */
export const CHAT_FAILURE_KINDS = ['http-status', 'network', 'timeout', 'aborted', 'malformed-response'] as const;
/** One of {@link CHAT_FAILURE_KINDS}. */
export type ChatFailureKind = (typeof CHAT_FAILURE_KINDS)[number];

/** Which client call failed. */
export type ChatOperation = 'issueToken' | 'postMessage';

/**
 * The chat API could not be reached or answered unexpectedly. For `issueToken` and for 5xx,
 * network, timeout and abort failures the outcome is unknown: the server may have acted.
 *
 * @example
 * ```ts
 * if (error instanceof ChatApiError && error.kind === 'timeout') retryLater();
 * ```
 */
export class ChatApiError extends Error {
  /** Stable code to switch on. */
  readonly code = CHAT_ERROR_CODES.CHAT_API_ERROR;
  /** The call that failed. */
  readonly operation: ChatOperation;
  /** What failed. */
  readonly kind: ChatFailureKind;
  /** HTTP status, if an answer arrived. */
  readonly status: number | undefined;

  constructor(message: string, options: { operation: ChatOperation; kind: ChatFailureKind; status?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ChatApiError';
    this.operation = options.operation;
    this.kind = options.kind;
    this.status = options.status;
  }
}

/**
 * `POST /messages` answered 429. The token is fine: wait `retryAfterMs`, then post again.
 *
 * @example
 * ```ts
 * if (error instanceof ChatRateLimitedError) await sleep(error.retryAfterMs);
 * ```
 */
export class ChatRateLimitedError extends Error {
  /** Stable code to switch on. */
  readonly code = CHAT_ERROR_CODES.CHAT_RATE_LIMITED;
  /** Always 429. */
  readonly status = 429;
  /** How long the API asked to wait, at most {@link RETRY_AFTER_MS_MAX}. */
  readonly retryAfterMs: number;

  constructor(message: string, options: { retryAfterMs: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ChatRateLimitedError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * A message to post.
 *
 * @example
 * ```ts
 * const message: ChatMessage = { messageId: 'evt-42', room: 'support', text: 'On it!', inReplyTo: 'evt-41' };
 * ```
 */
export interface ChatMessage {
  /** Idempotency key: re-posting the same id is safe (the API marks it duplicate). */
  readonly messageId: string;
  /** Room to post to. */
  readonly room: string;
  /** Message text. */
  readonly text: string;
  /** Id of the message this one answers. */
  readonly inReplyTo?: string;
}

/**
 * A token from `POST /auth`.
 *
 * @example
 * ```ts
 * const { token, expiresAtMs } = await client.issueToken({ signal });
 * ```
 */
export interface IssuedChatToken {
  /** The bearer token. Never log it; use `fingerprint(token)`. */
  readonly token: string;
  /** When the API says it expires, epoch ms. */
  readonly expiresAtMs?: number;
}

/**
 * Per-call options.
 *
 * @example
 * ```ts
 * await client.issueToken({ signal: AbortSignal.timeout(2_000) });
 * ```
 */
export interface ChatCallOptions {
  /**
   * Aborts the request; the call then rejects with a {@link ChatApiError} of kind `aborted`.
   * @defaultValue no signal
   */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Options of {@link createChatClient}.
 *
 * @example
 * ```ts
 * const options: ChatClientOptions = { baseUrl: 'https://chat.example.com/api', secret: process.env.CHAT_SECRET ?? '' };
 * ```
 */
export interface ChatClientOptions {
  /** Base URL of the chat API (http or https, no credentials, no query). */
  readonly baseUrl: string;
  /** The secret `POST /auth` takes. Never appears in errors. */
  readonly secret: string;
  /**
   * Bound on each request, response body included.
   * @defaultValue {@link DEFAULT_CHAT_TIMEOUT_MS}
   */
  readonly timeoutMs?: number;
  /**
   * The fetch implementation.
   * @defaultValue the global `fetch` of Node 20
   */
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * What the bot calls.
 *
 * @example
 * ```ts
 * const { token } = await client.issueToken({ signal });
 * const { duplicate } = await client.postMessage(token, { messageId: 'm-1', room: 'general', text: 'hi' });
 * ```
 */
export interface ChatClient {
  /** `POST /auth`: a new token, which invalidates every earlier one. */
  issueToken(options?: ChatCallOptions): Promise<IssuedChatToken>;
  /** `POST /messages` with `token` as bearer. */
  postMessage(token: string, message: ChatMessage, options?: ChatCallOptions): Promise<{ readonly duplicate: boolean }>;
}

/** A bounded answer. */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  /** `undefined` if the body exceeded {@link RESPONSE_BODY_BYTES_MAX}. */
  readonly text: string | undefined;
}

/**
 * Creates the chat client.
 *
 * @example
 * ```ts
 * const client = createChatClient({ baseUrl: server.url, secret: 's3cret', timeoutMs: 2_000 });
 * const coordinator = createTokenCoordinator({ store, issueToken: ({ signal }) => client.issueToken({ signal }) });
 * ```
 */
export function createChatClient(options: ChatClientOptions): ChatClient {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'createChatClient needs { baseUrl, secret, timeoutMs?, fetch? }.');
  }
  const base = parseBaseUrl(options.baseUrl);
  const { secret } = options;
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new InvalidOptionsError('secret', 'createChatClient: secret must be a non-empty string (the secret POST /auth takes).');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHAT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > CHAT_TIMEOUT_MS_MAX) {
    throw new InvalidOptionsError('timeoutMs', `createChatClient: timeoutMs must be an integer from 1 to ${CHAT_TIMEOUT_MS_MAX}; got ${String(timeoutMs)}.`);
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new InvalidOptionsError('fetch', 'createChatClient: fetch must be a function; Node 20 has a global fetch, pass one explicitly elsewhere.');
  }

  /** Sends one POST, bounded by `timeoutMs` and the caller's signal; classifies transport failures. */
  async function post(operation: ChatOperation, path: string, headers: Record<string, string>, body: string, signal: AbortSignal | undefined, hidden: readonly string[]): Promise<Answer> {
    const label = `POST /${path}`;
    if (isAborted(signal)) {
      throw new ChatApiError(`${label} was not sent: the caller's signal was already aborted`, { operation, kind: 'aborted', cause: signal?.reason });
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await fetchImpl(new URL(path, base), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body,
        signal: controller.signal,
        // A redirect would carry the secret or the token somewhere we did not choose.
        redirect: 'error',
      });
      const text = await readBounded(response);
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      const unknown = operation === 'issueToken' ? 'the outcome is unknown (a token may have been issued); retry' : 'the message may or may not have been delivered; retry with the same messageId';
      if (timedOut) {
        throw new ChatApiError(`${label} timed out after ${timeoutMs} ms; ${unknown}`, { operation, kind: 'timeout', cause: safeCause(error, hidden) });
      }
      // A helper, not `signal?.aborted`: the compiler would keep the narrowing from before the await.
      if (isAborted(signal)) {
        throw new ChatApiError(`${label} was aborted by the caller's signal; ${unknown}`, { operation, kind: 'aborted', cause: signal?.reason });
      }
      throw new ChatApiError(`${label} failed before an answer arrived (${describeCause(error, hidden)}); ${unknown}`, { operation, kind: 'network', cause: safeCause(error, hidden) });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    async issueToken(callOptions?: ChatCallOptions): Promise<IssuedChatToken> {
      const answer = await post('issueToken', 'auth', {}, JSON.stringify({ secret }), callOptions?.signal, [secret]);
      if (answer.status === 401 || answer.status === 403) {
        throw new IssuerRefusedError(`POST /auth answered ${answer.status}: the chat API refused the secret; check that it is current (was it rotated?)`, { status: answer.status });
      }
      if (answer.status !== 200) {
        const advice = answer.status >= 500 ? 'the outcome is unknown (a token may have been issued); retry' : 'check baseUrl and the API version';
        throw new ChatApiError(`POST /auth answered ${answer.status}${detail(answer, [secret])}; ${advice}`, { operation: 'issueToken', kind: 'http-status', status: answer.status });
      }
      const issued = parseIssued(answer.text);
      if (typeof issued === 'string') {
        // The server issued a token (killing the previous one) that we cannot use: treat like a lost answer.
        throw new ChatApiError(`POST /auth answered 200 with a malformed body: ${issued}; a token was probably issued but is unusable, retry`, { operation: 'issueToken', kind: 'malformed-response', status: 200 });
      }
      return issued;
    },

    async postMessage(token: string, message: ChatMessage, callOptions?: ChatCallOptions): Promise<{ readonly duplicate: boolean }> {
      if (typeof token !== 'string' || !VISIBLE_ASCII.test(token)) {
        // Never echo it: a malformed token is still a token.
        throw new TypeError('postMessage: token must be a non-empty string of printable ASCII without spaces (as issueToken returned it)');
      }
      const body = JSON.stringify(checkMessage(message));
      const shownToken = fingerprint(token);
      const hidden = [token, secret];
      const answer = await post('postMessage', 'messages', { authorization: `Bearer ${token}` }, body, callOptions?.signal, hidden);
      if (answer.status === 200) {
        const duplicate = parseDelivered(answer.text);
        if (duplicate === undefined) {
          throw new ChatApiError(`POST /messages answered 200 without { delivered: true, duplicate: boolean } for messageId ${message.messageId}; it was probably delivered, retry with the same messageId to confirm`, { operation: 'postMessage', kind: 'malformed-response', status: 200 });
        }
        return { duplicate };
      }
      if (answer.status === 401) {
        throw new TokenRejectedError(`POST /messages answered 401: the chat API rejected token ${shownToken}${detail(answer, hidden, 'reason')}`);
      }
      if (answer.status === 429) {
        const retryAfterMs = parseRetryAfter(answer);
        throw new ChatRateLimitedError(`POST /messages answered 429 (rate limited); the token ${shownToken} is fine, post messageId ${message.messageId} again after ${retryAfterMs} ms`, { retryAfterMs });
      }
      const advice = answer.status >= 500 ? 'the message may or may not have been delivered; retry with the same messageId' : 'the message was not delivered; fix the request';
      throw new ChatApiError(`POST /messages answered ${answer.status}${detail(answer, hidden)}; ${advice}`, { operation: 'postMessage', kind: 'http-status', status: answer.status });
    },
  };
}

function parseBaseUrl(baseUrl: unknown): URL {
  const usage = "baseUrl must be an absolute http(s) URL without credentials, query or fragment, e.g. 'https://chat.example.com/api'";
  if (typeof baseUrl !== 'string') throw new InvalidOptionsError('baseUrl', `createChatClient: ${usage}.`);
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new InvalidOptionsError('baseUrl', `createChatClient: ${usage}; it does not parse as a URL.`);
  }
  // The URL is not echoed back: it might carry credentials.
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new InvalidOptionsError('baseUrl', `createChatClient: ${usage}.`);
  }
  // A trailing slash makes 'auth' resolve under the base path instead of replacing its last segment.
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

function checkMessage(message: ChatMessage): ChatMessage {
  if (typeof message !== 'object' || message === null) {
    throw new TypeError('postMessage: message must be an object { messageId, room, text, inReplyTo? }');
  }
  const { messageId, room, text, inReplyTo } = message;
  if (typeof messageId !== 'string' || !VISIBLE_ASCII.test(messageId)) {
    throw new TypeError('postMessage: message.messageId must be a non-empty string of printable ASCII without spaces');
  }
  if (typeof room !== 'string' || room.length === 0) throw new TypeError(`postMessage: message.room must be a non-empty string (messageId ${messageId})`);
  if (typeof text !== 'string' || text.length === 0) throw new TypeError(`postMessage: message.text must be a non-empty string (messageId ${messageId})`);
  if ('inReplyTo' in message && (typeof inReplyTo !== 'string' || !VISIBLE_ASCII.test(inReplyTo))) {
    throw new TypeError(`postMessage: message.inReplyTo, when present, must be a message id (messageId ${messageId})`);
  }
  // Send only known fields: extra properties on the caller's object are not the API's business.
  return inReplyTo === undefined ? { messageId, room, text } : { messageId, room, text, inReplyTo };
}

/** Reads at most {@link RESPONSE_BODY_BYTES_MAX}; `undefined` if the body is larger. */
async function readBounded(response: Response): Promise<string | undefined> {
  const body = response.body;
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > RESPONSE_BODY_BYTES_MAX) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The issued token, or why the body is malformed (never quoting the body: it holds a token). */
function parseIssued(text: string | undefined): IssuedChatToken | string {
  if (text === undefined) return `the body exceeds ${RESPONSE_BODY_BYTES_MAX} bytes`;
  const record = asRecord(parseJson(text));
  if (record === undefined) return 'the body is not a JSON object';
  const { token, expiresAtMs } = record;
  if (typeof token !== 'string' || !VISIBLE_ASCII.test(token)) return '"token" is missing or not a non-empty printable-ASCII string';
  if (expiresAtMs === undefined) return { token };
  if (typeof expiresAtMs !== 'number' || !Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) return '"expiresAtMs" is not a non-negative integer of epoch milliseconds';
  return { token, expiresAtMs };
}

function parseDelivered(text: string | undefined): boolean | undefined {
  const record = asRecord(parseJson(text));
  if (record?.['delivered'] !== true) return undefined;
  const duplicate = record['duplicate'];
  return typeof duplicate === 'boolean' ? duplicate : undefined;
}

/** `retryAfterMs` from the body, else `Retry-After` seconds, else the default; clamped. */
function parseRetryAfter(answer: Answer): number {
  const fromBody = asRecord(parseJson(answer.text))?.['retryAfterMs'];
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return Math.min(Math.ceil(fromBody), RETRY_AFTER_MS_MAX);
  // Only the delta-seconds form: the HTTP-date form would need a clock.
  const header = answer.headers.get('retry-after');
  if (header !== null && /^\d{1,9}$/.test(header.trim())) return Math.min(Number(header.trim()) * 1000, RETRY_AFTER_MS_MAX);
  return DEFAULT_RETRY_AFTER_MS;
}

/** `: <server's error field>` redacted and truncated, or '' when there is none. */
function detail(answer: Answer, hidden: readonly string[], field = 'error'): string {
  const value = asRecord(parseJson(answer.text))?.[field];
  if (typeof value !== 'string' || value.length === 0) return '';
  return ` (${redact(value, hidden).slice(0, DETAIL_CHARS_MAX)})`;
}

function describeCause(error: unknown, hidden: readonly string[]): string {
  if (!(error instanceof Error)) return 'unknown error';
  const inner = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return redact(`${error.message}${inner}`, hidden).slice(0, DETAIL_CHARS_MAX);
}

/**
 * `error` itself, unless its text (or a nested cause's) holds a secret or token, as a custom fetch's
 * error might: then a redacted copy, because causes get logged along with the error.
 */
function safeCause(error: unknown, hidden: readonly string[]): unknown {
  let text = '';
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < CAUSE_DEPTH_MAX; current = current.cause, depth += 1) {
    text += `${current.message}\n${current.stack ?? ''}\n`;
  }
  if (!hidden.some((value) => value.length > 0 && text.includes(value))) return error;
  const copy = new Error(describeCause(error, hidden));
  copy.name = error instanceof Error ? error.name : 'Error';
  return copy;
}

/** Replaces every occurrence of a secret or token; the text may come from a server or a custom fetch. */
function redact(text: string, hidden: readonly string[]): string {
  return hidden.reduce((result, value) => (value.length === 0 ? result : result.split(value).join('[redacted]')), text);
}
