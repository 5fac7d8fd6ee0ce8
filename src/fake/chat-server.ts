import { setMaxListeners } from 'node:events';
/**
 * Serves a {@link FakeChatApi} over real HTTP (node:http, no framework) so the chat client, the
 * tests and the demo talk to it exactly as they would to the real API, faults included.
 *
 * Routes:
 * - `POST /auth` `{ "secret": string }` → 200 `{ token, expiresAtMs? }` | 400 | 401 | 500, or a
 *   destroyed socket without an answer (`drop-after-issue`);
 * - `POST /messages` with `Authorization: Bearer <token>` and `{ messageId, room, text, inReplyTo? }`
 *   → 200 `{ delivered: true, duplicate }` | 400 | 401 | 429 (`Retry-After` in seconds, body `retryAfterMs`);
 * - `GET /stats` → {@link ChatApiStats};
 * - admin: `POST /admin/invalidate`, `POST /admin/expire`, `POST /admin/auth-mode` `{ mode }`,
 *   `POST /admin/rate-limit` `{ calls, retryAfterMs }` (`{ calls: 0 }` lifts it),
 *   `POST /admin/latency` `{ authLatencyMs?, messageLatencyMs? }`, `GET /admin/log`.
 *
 * Bodies over `bodyBytesMax` get 413. No answer ever contains a token except a 200 from `/auth`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { InvalidOptionsError } from '../runtime/errors.js';
import { AUTH_MODES, FakeChatApi, MalformedRequest, isAuthMode } from './chat-api.js';

/** Requests that may wait out their latency at once before Node warns about listeners. */
export const CONCURRENT_WAITS_MAX = 10_000;

/** Default bound on a request body. */
export const REQUEST_BODY_BYTES_MAX = 64 * 1024;
/** Longest latency one can inject, so a typo cannot hang a test run. */
export const LATENCY_MS_MAX = 10 * 60 * 1000;
/** Default host: loopback only, the fake has unauthenticated admin routes. */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * Waits `ms` milliseconds; rejects when `signal` aborts (the server is closing).
 *
 * @example
 * ```ts
 * const sleep: Sleep = (ms, signal) => setTimeout(ms, undefined, { signal });
 * ```
 */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/**
 * Injected latency.
 *
 * @example
 * ```ts
 * server.setLatency({ authLatencyMs: 500 });
 * ```
 */
export interface FakeChatLatency {
  /**
   * Delay before `POST /auth` is processed (so a slow issuer is observable: the token is issued
   * only after it).
   * @defaultValue 0
   */
  readonly authLatencyMs?: number;
  /**
   * Delay before `POST /messages` is processed.
   * @defaultValue 0
   */
  readonly messageLatencyMs?: number;
}

/**
 * Options of {@link startFakeChatServer}.
 *
 * @example
 * ```ts
 * const options: FakeChatServerOptions = { api, authLatencyMs: 200 };
 * ```
 */
export interface FakeChatServerOptions extends FakeChatLatency {
  /** The model that decides every answer. */
  readonly api: FakeChatApi;
  /**
   * Port to listen on; 0 picks a free one.
   * @defaultValue 0
   */
  readonly port?: number;
  /**
   * Interface to listen on.
   * @defaultValue `'127.0.0.1'`
   */
  readonly host?: string;
  /**
   * How latency is waited for (inject to control time in tests).
   * @defaultValue a real timer from `node:timers/promises`
   */
  readonly sleep?: Sleep;
  /**
   * Largest accepted request body; larger ones get 413.
   * @defaultValue {@link REQUEST_BODY_BYTES_MAX}
   */
  readonly bodyBytesMax?: number;
}

/**
 * A running fake chat server.
 *
 * @example
 * ```ts
 * const server = await startFakeChatServer({ api });
 * await fetch(`${server.url}/stats`);
 * await server.close();
 * ```
 */
export interface FakeChatServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  /** The port actually bound. */
  readonly port: number;
  /** The model behind the server. */
  readonly api: FakeChatApi;
  /** Changes the injected latency; fields left out keep their value. */
  setLatency(latency: FakeChatLatency): void;
  /** Stops listening, cancels pending latency and ends every connection (keep-alive included). */
  close(): Promise<void>;
}

/** What a route handler answers; `drop` destroys the socket without an answer. */
type Reply = { readonly status: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> } | 'drop';

/** Context a route handler gets. */
interface RouteContext {
  readonly request: IncomingMessage;
  readonly body: string;
}

type Route = (context: RouteContext) => Promise<Reply> | Reply;

const defaultSleep: Sleep = (ms, signal) => delay(ms, undefined, { signal });

/**
 * Starts the fake chat API over HTTP.
 *
 * @example
 * ```ts
 * const api = new FakeChatApi({ secret: 's3cret', clock: { now: () => Date.now() } });
 * const server = await startFakeChatServer({ api, authLatencyMs: 100 });
 * const client = createChatClient({ baseUrl: server.url, secret: 's3cret' });
 * await server.close();
 * ```
 */
export async function startFakeChatServer(options: FakeChatServerOptions): Promise<FakeChatServer> {
  if (typeof options !== 'object' || options === null || !(options.api instanceof FakeChatApi)) {
    throw new InvalidOptionsError('api', 'startFakeChatServer needs { api } with api a FakeChatApi instance.');
  }
  const { api } = options;
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidOptionsError('port', `startFakeChatServer: port must be an integer from 0 to 65535 (0 picks a free port); got ${String(port)}.`);
  }
  const host = options.host ?? DEFAULT_HOST;
  if (typeof host !== 'string' || host.length === 0) {
    throw new InvalidOptionsError('host', `startFakeChatServer: host must be a non-empty string such as '${DEFAULT_HOST}'.`);
  }
  const sleep = options.sleep ?? defaultSleep;
  if (typeof sleep !== 'function') {
    throw new InvalidOptionsError('sleep', 'startFakeChatServer: sleep must be a function (ms, signal) => Promise<void>.');
  }
  const bodyBytesMax = options.bodyBytesMax ?? REQUEST_BODY_BYTES_MAX;
  if (!Number.isSafeInteger(bodyBytesMax) || bodyBytesMax < 1) {
    throw new InvalidOptionsError('bodyBytesMax', `startFakeChatServer: bodyBytesMax must be a positive integer of bytes; got ${String(bodyBytesMax)}.`);
  }
  let authLatencyMs = parseLatency('authLatencyMs', options.authLatencyMs) ?? 0;
  let messageLatencyMs = parseLatency('messageLatencyMs', options.messageLatencyMs) ?? 0;
  const setLatency = (latency: FakeChatLatency): void => {
    authLatencyMs = parseLatency('authLatencyMs', latency.authLatencyMs) ?? authLatencyMs;
    messageLatencyMs = parseLatency('messageLatencyMs', latency.messageLatencyMs) ?? messageLatencyMs;
  };

  // Aborted by close(): pending latency ends at once instead of keeping the process alive.
  const closing = new AbortController();
  // Every request in its latency wait listens on this one signal; a busy demo has hundreds at once.
  setMaxListeners(CONCURRENT_WAITS_MAX, closing.signal);
  const wait = async (ms: number): Promise<void> => {
    if (ms > 0) await sleep(ms, closing.signal);
  };

  const routes = new Map<string, Map<string, Route>>([
    ['/auth', new Map([['POST', async ({ body }) => {
      const parsed = parseJsonObject(body, '{ "secret": string }', ['secret']);
      await wait(authLatencyMs);
      const result = api.auth(parsed instanceof MalformedRequest ? parsed : parsed['secret']);
      if (result.status === 'dropped') return 'drop';
      if (result.status === 200) {
        return { status: 200, body: result.expiresAtMs === undefined ? { token: result.token } : { token: result.token, expiresAtMs: result.expiresAtMs } };
      }
      return { status: result.status, body: { error: result.reason } };
    }]])],
    ['/messages', new Map([['POST', async ({ request, body }) => {
      const bearer = parseBearer(request.headers.authorization);
      const parsed = parseJsonObject(body, '{ "messageId": string, "room": string, "text": string, "inReplyTo"?: string }');
      await wait(messageLatencyMs);
      const result = api.postMessage(bearer, parsed);
      switch (result.status) {
        case 200:
          return { status: 200, body: { delivered: true, duplicate: result.duplicate } };
        case 401:
          return { status: 401, body: { error: 'token rejected', reason: result.reason }, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } };
        case 429:
          return {
            status: 429,
            body: { error: 'rate limited', retryAfterMs: result.retryAfterMs },
            headers: { 'retry-after': String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))) },
          };
        case 400:
          return { status: 400, body: { error: result.reason } };
      }
    }]])],
    ['/stats', new Map([['GET', () => ({ status: 200, body: api.stats() })]])],
    ['/admin/invalidate', new Map([['POST', () => ({ status: 200, body: api.invalidate() })]])],
    ['/admin/expire', new Map([['POST', () => ({ status: 200, body: { expired: api.expireCurrent() } })]])],
    ['/admin/log', new Map([['GET', () => ({ status: 200, body: api.authLog })]])],
    ['/admin/auth-mode', new Map([['POST', ({ body }) => adminSetting(body, '{ "mode": "ok" | "refuse" | "error-500" | "drop-after-issue" }', ['mode'], (parsed) => {
      const mode = parsed['mode'];
      if (!isAuthMode(mode)) throw new InvalidOptionsError('mode', `mode must be one of ${AUTH_MODES.join(', ')}`);
      api.authMode = mode;
      return { mode: api.authMode };
    })]])],
    ['/admin/rate-limit', new Map([['POST', ({ body }) => adminSetting(body, '{ "calls": number, "retryAfterMs"?: number } ({ "calls": 0 } lifts it)', ['calls', 'retryAfterMs'], (parsed) => {
      // The setter validates both numbers at run time; the casts only satisfy the compiler.
      api.messagesRateLimit = parsed['calls'] === 0 ? undefined : { calls: parsed['calls'] as number, retryAfterMs: parsed['retryAfterMs'] as number };
      return { messagesRateLimit: api.messagesRateLimit ?? null };
    })]])],
    ['/admin/latency', new Map([['POST', ({ body }) => adminSetting(body, '{ "authLatencyMs"?: number, "messageLatencyMs"?: number }', ['authLatencyMs', 'messageLatencyMs'], (parsed) => {
      setLatency(parsed as FakeChatLatency);
      return { authLatencyMs, messageLatencyMs };
    })]])],
  ]);

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // Only reachable if close() aborted a pending latency or a handler has a bug: never hang the caller.
      if (closing.signal.aborted || response.headersSent) {
        request.socket.destroy();
        return;
      }
      const message = error instanceof Error ? error.message : 'unexpected failure';
      send(response, { status: 500, body: { error: `fake chat server bug: ${message}` } });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://fake.invalid').pathname;
    const byMethod = routes.get(path);
    if (byMethod === undefined) {
      request.resume();
      send(response, { status: 404, body: { error: `no route ${path}; routes: ${[...routes.keys()].join(', ')}` } });
      return;
    }
    const route = byMethod.get(request.method ?? '');
    if (route === undefined) {
      request.resume();
      const allowed = [...byMethod.keys()].join(', ');
      send(response, { status: 405, body: { error: `${path} accepts ${allowed}, not ${request.method ?? '(none)'}` }, headers: { allow: allowed } });
      return;
    }
    const body = await readBody(request, bodyBytesMax);
    if (body === undefined) {
      send(response, { status: 413, body: { error: `request body exceeds ${bodyBytesMax} bytes; send less` }, headers: { connection: 'close' } });
      return;
    }
    const reply = await route({ request, body });
    if (reply === 'drop') {
      // The work is done (a token was issued) but the answer is lost, like a crashed load balancer.
      request.socket.destroy();
      return;
    }
    send(response, reply);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    api,
    setLatency,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        closing.abort(new Error('fake chat server closing'));
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        // server.close() waits for keep-alive connections; end them so tests exit promptly.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function parseLatency(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > LATENCY_MS_MAX) {
    throw new InvalidOptionsError(name, `${name} must be an integer of milliseconds from 0 to ${LATENCY_MS_MAX}; got ${String(value)}.`);
  }
  return value;
}

/**
 * Reads the whole body as UTF-8, or `undefined` if it exceeds `bytesMax` (the rest is drained and
 * discarded so the client still reads the 413).
 */
function readBody(request: IncomingMessage, bytesMax: number): Promise<string | undefined> {
  const declaredBytes = Number(request.headers['content-length'] ?? '0');
  if (declaredBytes > bytesMax) {
    request.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > bytesMax) {
        request.off('data', onData);
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}

/**
 * Parses a JSON object body allowing only `allowedKeys` (all keys when omitted), or describes what
 * is wrong. Never quotes the body back: it may hold a secret.
 */
function parseJsonObject(body: string, shape: string, allowedKeys?: readonly string[]): Record<string, unknown> | MalformedRequest {
  if (body.trim().length === 0) return new MalformedRequest(`body is empty; send JSON ${shape}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return new MalformedRequest(`body is not valid JSON; send ${shape}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return new MalformedRequest(`body must be a JSON object ${shape}`);
  }
  const record = parsed as Record<string, unknown>;
  if (allowedKeys !== undefined) {
    const unexpected = Object.keys(record).filter((key) => !allowedKeys.includes(key));
    if (unexpected.length > 0) {
      return new MalformedRequest(`unexpected field(s) ${unexpected.slice(0, 5).map((key) => JSON.stringify(key.slice(0, 40))).join(', ')}; send ${shape}`);
    }
  }
  return record;
}

/** Applies an admin setting; bad bodies and values (setters throw InvalidOptionsError) are 400s. */
function adminSetting(body: string, shape: string, allowedKeys: readonly string[], apply: (parsed: Record<string, unknown>) => unknown): Reply {
  const parsed = parseJsonObject(body, shape, allowedKeys);
  if (parsed instanceof MalformedRequest) return { status: 400, body: { error: parsed.reason } };
  try {
    return { status: 200, body: apply(parsed) };
  } catch (error) {
    if (error instanceof InvalidOptionsError) return { status: 400, body: { error: error.message } };
    throw error;
  }
}

/** The token of `Authorization: Bearer <token>`, or `undefined` if the header is absent or not Bearer. */
function parseBearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

function send(response: ServerResponse, reply: Exclude<Reply, 'drop'>): void {
  const payload = JSON.stringify(reply.body);
  response.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...reply.headers,
  });
  response.end(payload);
}
