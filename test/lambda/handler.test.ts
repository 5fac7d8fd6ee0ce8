import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeChatApi } from '../../src/fake/chat-api.js';
import { startFakeChatServer } from '../../src/fake/chat-server.js';
import type { FakeChatServer } from '../../src/fake/chat-server.js';
import {
  AttemptsExhaustedError,
  fingerprint,
  IssuerRefusedError,
  IssuerUnavailableError,
  MemoryTokenStore,
  ProtocolViolationError,
  RecordInvalidError,
  StoreMisconfiguredError,
  StoreUnavailableError,
  TokenUnavailableError,
} from '../../src/index.js';
import type { BatonEvent, Logger, TokenStore } from '../../src/index.js';
import { ChatApiError, createChatClient } from '../../src/lambda/chat-client.js';
import type { ChatClient } from '../../src/lambda/chat-client.js';
import { BotConfigError, loadBotConfig } from '../../src/lambda/config.js';
import type { BotConfig } from '../../src/lambda/config.js';
import { createHandler, LAMBDA_SAFETY_MARGIN_MS } from '../../src/lambda/handler.js';
import type { BotHandler, BotHooks } from '../../src/lambda/handler.js';
import { retryAfterSeconds } from '../../src/lambda/http.js';
import type { HttpApiEventV2, HttpApiResultV2 } from '../../src/lambda/http.js';
import { classifyFailure, ISSUER_REFUSED_RETRY_AFTER_MS_DEFAULT, RETRY_AFTER_MS_DEFAULT } from '../../src/lambda/outcome.js';

const SECRET = 'chat-secret-do-not-leak-7f3a9c';

/** A token store that counts what reaches it. */
class CountingStore implements TokenStore {
  reads = 0;
  writes = 0;
  constructor(readonly inner: TokenStore) {}
  read(options: Parameters<TokenStore['read']>[0]): ReturnType<TokenStore['read']> {
    this.reads += 1;
    return this.inner.read(options);
  }
  write(request: Parameters<TokenStore['write']>[0]): ReturnType<TokenStore['write']> {
    this.writes += 1;
    return this.inner.write(request);
  }
  describe(): string {
    return this.inner.describe();
  }
  get calls(): number {
    return this.reads + this.writes;
  }
}

/** Captures everything logged, at every level, details included. */
function capturingLogger(): { logger: Logger; lines: string[]; invocations: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (message: string, ...details: unknown[]): void => {
      lines.push(`${level} ${message}${details.length === 0 ? '' : ` ${inspect(details, { depth: 8 })}`}`);
    };
  const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  const invocations = (): Array<Record<string, unknown>> =>
    lines
      .map((line) => line.slice(line.indexOf(' ') + 1))
      .filter((text) => text.startsWith('{') && text.includes('"baton-bot invocation"'))
      .map((text) => JSON.parse(text) as Record<string, unknown>);
  return { logger, lines, invocations };
}

function webhookEvent(body: unknown, overrides: Partial<HttpApiEventV2> = {}): HttpApiEventV2 {
  return {
    version: '2.0',
    rawPath: '/webhook',
    requestContext: { requestId: 'req-1', http: { method: 'POST', path: '/webhook' } },
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    ...overrides,
  };
}

function message(messageId: string, text = 'hello bot'): Record<string, unknown> {
  return { messageId, room: 'general', user: 'ada', text, sentAtMs: 1_700_000_000_000 };
}

function bodyOf(result: HttpApiResultV2): Record<string, unknown> {
  return JSON.parse(result.body) as Record<string, unknown>;
}

interface Rig {
  readonly api: FakeChatApi;
  readonly server: FakeChatServer;
  readonly store: CountingStore;
  readonly memory: MemoryTokenStore;
  readonly config: BotConfig;
  readonly handler: BotHandler;
  readonly lines: string[];
  readonly invocations: () => Array<Record<string, unknown>>;
  readonly events: BatonEvent[];
  readonly results: HttpApiResultV2[];
  /** Every token the fake API ever issued, to prove none leaks. */
  readonly issuedTokens: string[];
  invoke(event: HttpApiEventV2, remainingMs?: number): Promise<HttpApiResultV2>;
}

const servers: FakeChatServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  vi.unstubAllEnvs();
  vi.resetModules();
});

async function rig(options: { hooks?: Partial<BotHooks>; env?: Record<string, string>; store?: TokenStore; chatClient?: (config: BotConfig) => ChatClient } = {}): Promise<Rig> {
  const issuedTokens: string[] = [];
  const api = new FakeChatApi({
    secret: SECRET,
    clock: { now: () => Date.now() },
    generateToken: (generation) => {
      const token = `tok-${generation}-${Math.random().toString(36).slice(2)}`;
      issuedTokens.push(token);
      return token;
    },
  });
  const server = await startFakeChatServer({ api, port: 0 });
  servers.push(server);
  const memory = new MemoryTokenStore();
  const store = new CountingStore(options.store ?? memory);
  const config = loadBotConfig({
    CHAT_API_URL: server.url,
    CHAT_AUTH_SECRET: SECRET,
    BATON_TABLE: 'baton-test',
    BATON_KEY: 'chat-bot',
    DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
    BOT_REPLY_DEADLINE_MS: '5000',
    ...options.env,
  });
  const { logger, lines, invocations } = capturingLogger();
  const events: BatonEvent[] = [];
  const handler = createHandler(config, {
    store,
    logger,
    onEvent: (event) => events.push(event),
    coordinatorOptions: { pollMs: 10 },
    ...(options.chatClient === undefined ? {} : { chatClient: options.chatClient(config) }),
    ...options.hooks,
  });
  const results: HttpApiResultV2[] = [];
  return {
    api,
    server,
    store,
    memory,
    config,
    handler,
    lines,
    invocations,
    events,
    results,
    issuedTokens,
    async invoke(event, remainingMs = 30_000) {
      const result = await handler(event, { getRemainingTimeInMillis: () => remainingMs, awsRequestId: 'aws-req-1' });
      results.push(result);
      return result;
    },
  };
}

/** Nothing the rig produced (answers, log lines, events) contains the secret or any token. */
function expectNoLeak(r: Rig): void {
  const everything = [...r.results.map((result) => JSON.stringify(result)), ...r.lines, ...r.events.map((event) => JSON.stringify(event))].join('\n');
  expect(everything).not.toContain(SECRET);
  for (const token of r.issuedTokens) expect(everything).not.toContain(token);
}

describe('createHandler: delivery through the real coordinator and the fake chat server', () => {
  it('delivers a valid webhook exactly once and answers 200 sent', async () => {
    const r = await rig();
    const result = await r.invoke(webhookEvent(message('m-1')));
    expect(result.statusCode).toBe(200);
    expect(result.headers['content-type']).toMatch(/^application\/json/);
    expect(bodyOf(result)).toEqual({ status: 'sent', replyId: 'reply:m-1', duplicate: false });
    expect(r.api.deliveries('reply:m-1')).toBe(1);
    expect(r.api.delivered()).toEqual([
      expect.objectContaining({ messageId: 'reply:m-1', room: 'general', inReplyTo: 'm-1', text: '@ada you said: hello bot', deliveries: 1 }),
    ]);
    expect(r.api.stats()).toMatchObject({ authCalls: 1, authIssued: 1, messagesAccepted: 1, duplicates: 0, rejections: 0 });
    expect(r.handler.coordinator.stats()).toMatchObject({ authCalls: 1, publishes: 1 });
    expectNoLeak(r);
  });

  it('logs one structured line per invocation with messageId, outcome and durationMs, and the token only as a fingerprint', async () => {
    const r = await rig();
    await r.invoke(webhookEvent(message('m-log')));
    const lines = r.invocations();
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({ msg: 'baton-bot invocation', requestId: 'aws-req-1', messageId: 'm-log', replyId: 'reply:m-log', outcome: 'sent', statusCode: 200, duplicate: false });
    expect(typeof line?.['durationMs']).toBe('number');
    const [token] = r.issuedTokens;
    expect(line?.['tokenFingerprint']).toBe(fingerprint(token ?? ''));
    expectNoLeak(r);
  });

  it('serves a warm invocation from the cache: zero store reads, zero auth calls', async () => {
    const r = await rig();
    expect((await r.invoke(webhookEvent(message('m-1')))).statusCode).toBe(200);
    const storeBefore = { reads: r.store.reads, writes: r.store.writes };
    const statsBefore = r.handler.coordinator.stats();
    const authBefore = r.api.stats().authCalls;

    const second = await r.invoke(webhookEvent(message('m-2')));
    expect(second.statusCode).toBe(200);
    expect(bodyOf(second)).toEqual({ status: 'sent', replyId: 'reply:m-2', duplicate: false });
    expect({ reads: r.store.reads, writes: r.store.writes }).toEqual(storeBefore);
    const statsAfter = r.handler.coordinator.stats();
    expect(statsAfter.storeReads).toBe(statsBefore.storeReads);
    expect(statsAfter.cacheHits).toBe(statsBefore.cacheHits + 1);
    expect(r.api.stats().authCalls).toBe(authBefore);
    expect(r.api.deliveries('reply:m-2')).toBe(1);
    expectNoLeak(r);
  });

  it('answers a redelivered webhook with duplicate: true and posts nothing new', async () => {
    const r = await rig();
    await r.invoke(webhookEvent(message('m-dup')));
    const again = await r.invoke(webhookEvent(message('m-dup')));
    expect(again.statusCode).toBe(200);
    expect(bodyOf(again)).toEqual({ status: 'sent', replyId: 'reply:m-dup', duplicate: true });
    expect(r.api.delivered()).toHaveLength(1);
    expect(r.api.stats().duplicates).toBe(1);
  });

  it('after an outside invalidation, makes exactly one new POST /auth and delivers the message', async () => {
    const r = await rig();
    await r.invoke(webhookEvent(message('m-1')));
    r.api.invalidate();
    const authBefore = r.api.stats().authCalls;

    const result = await r.invoke(webhookEvent(message('m-2')));
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ status: 'sent', replyId: 'reply:m-2', duplicate: false });
    expect(r.api.stats().authCalls - authBefore).toBe(1);
    expect(r.api.stats().rejections).toBe(1);
    expect(r.api.deliveries('reply:m-2')).toBe(1);
    expect(r.handler.coordinator.stats()).toMatchObject({ authCalls: 2, rejections: 1 });
    // The log names the token actually used: the newest one.
    expect(r.invocations().at(-1)?.['tokenFingerprint']).toBe(r.api.current()?.tokenFingerprint);
    expectNoLeak(r);
  });

  it('accepts a base64-encoded body', async () => {
    const r = await rig();
    const body = Buffer.from(JSON.stringify(message('m-b64', 'ünïcödé 🎉'))).toString('base64');
    const result = await r.invoke(webhookEvent(body, { isBase64Encoded: true }));
    expect(result.statusCode).toBe(200);
    expect(r.api.delivered()[0]?.text).toBe('@ada you said: ünïcödé 🎉');
  });

  it('works without a Lambda context', async () => {
    const r = await rig();
    const result = await r.handler(webhookEvent(message('m-nocontext')));
    expect(result.statusCode).toBe(200);
  });
});

describe('createHandler: bad requests never touch the coordinator', () => {
  const oversized = JSON.stringify({ ...message('m-big'), pad: 'x'.repeat(17 * 1024) });
  const cases: Array<[string, HttpApiEventV2]> = [
    ['invalid JSON', webhookEvent('{"messageId": "m-1",')],
    ['a JSON array', webhookEvent('[]')],
    ['missing fields', webhookEvent({ messageId: 'm-1' })],
    ['a bad messageId', webhookEvent({ ...message('m 1') })],
    ['a string sentAtMs', webhookEvent({ ...message('m-1'), sentAtMs: 'yesterday' })],
    ['an empty body', webhookEvent('')],
    ['an oversized body', webhookEvent(oversized)],
    ['an oversized base64 body', webhookEvent(Buffer.from(oversized).toString('base64'), { isBase64Encoded: true })],
    ['a body flagged base64 that is not', webhookEvent(message('m-1'), { isBase64Encoded: true })],
  ];

  it.each(cases)('answers 400 for %s, with zero auth calls and zero store calls', async (_, event) => {
    const r = await rig();
    const result = await r.invoke(event);
    expect(result.statusCode).toBe(400);
    const body = bodyOf(result);
    expect(body['error']).toBe('bad-request');
    const reasons = body['reasons'] as Array<Record<string, unknown>>;
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(Object.keys(reason).sort()).toEqual(['expected', 'field', 'problem']);
    expect(r.api.stats().authCalls).toBe(0);
    expect(r.store.calls).toBe(0);
    expect(r.handler.coordinator.stats()).toMatchObject({ authCalls: 0, storeReads: 0, storeWrites: 0, cacheHits: 0 });
    expect(r.invocations()).toEqual([expect.objectContaining({ outcome: 'bad-request', statusCode: 400 })]);
    expectNoLeak(r);
  });

  it('names every wrong field in one answer', async () => {
    const r = await rig();
    const result = await r.invoke(webhookEvent({ messageId: '', room: '', user: 3, sentAtMs: 1.5 }));
    const reasons = bodyOf(result)['reasons'] as Array<Record<string, unknown>>;
    expect(reasons.map((reason) => reason['field'])).toEqual(['messageId', 'room', 'user', 'text', 'sentAtMs']);
  });

  it('answers 405 with Allow: POST to other methods, without touching the coordinator', async () => {
    const r = await rig();
    const result = await r.invoke(webhookEvent(message('m-1'), { requestContext: { http: { method: 'GET', path: '/' } } }));
    expect(result.statusCode).toBe(405);
    expect(result.headers['allow']).toBe('POST');
    expect(bodyOf(result)['error']).toBe('method-not-allowed');
    expect(r.api.stats().authCalls).toBe(0);
    expect(r.store.calls).toBe(0);
  });

  it('answers 400 to an event that is not an HTTP payload v2 event', async () => {
    const r = await rig();
    const result = await r.invoke({ httpMethod: 'POST', body: JSON.stringify(message('m-1')) } as unknown as HttpApiEventV2);
    expect(result.statusCode).toBe(400);
    expect(JSON.stringify(bodyOf(result))).toContain('payload format 2.0');
    expect(r.store.calls).toBe(0);
  });
});

describe('createHandler: failures are answered so the chat service redelivers', () => {
  it('maps a chat 429 to 503 with Retry-After, as a rate limit, not a token problem', async () => {
    const r = await rig();
    await r.invoke(webhookEvent(message('m-1')));
    r.api.messagesRateLimit = { calls: 1, retryAfterMs: 2_500 };
    const authBefore = r.api.stats().authCalls;

    const result = await r.invoke(webhookEvent(message('m-2')));
    expect(result.statusCode).toBe(503);
    expect(result.headers['retry-after']).toBe('3');
    const body = bodyOf(result);
    expect(body).toMatchObject({ status: 'not-sent', code: 'CHAT_RATE_LIMITED' });
    expect(body['reason']).toMatch(/rate limit, not a token problem/);
    expect(r.api.stats().authCalls).toBe(authBefore);
    expect(r.handler.coordinator.stats().rejections).toBe(0);
    expect(r.api.deliveries('reply:m-2')).toBe(0);
    expect(r.invocations().at(-1)).toMatchObject({ outcome: 'not-sent', code: 'CHAT_RATE_LIMITED', statusCode: 503, retryAfterS: 3, messageId: 'm-2' });

    // The chat service redelivers; the reply then goes out exactly once.
    const redelivered = await r.invoke(webhookEvent(message('m-2')));
    expect(redelivered.statusCode).toBe(200);
    expect(r.api.deliveries('reply:m-2')).toBe(1);
    expectNoLeak(r);
  });

  it('maps an issuer refusal to 503 with a Retry-After from the fleet back-off and a clear reason', async () => {
    const r = await rig();
    r.api.authMode = 'refuse';
    const result = await r.invoke(webhookEvent(message('m-1')));
    expect(result.statusCode).toBe(503);
    const body = bodyOf(result);
    expect(body).toMatchObject({ status: 'not-sent', code: 'ISSUER_REFUSED' });
    expect(body['reason']).toMatch(/refused the bot's credentials/);
    expect(body['reason']).toMatch(/CHAT_AUTH_SECRET/);
    const backoffUntilMs = r.memory.snapshot()?.backoffUntilMs;
    expect(backoffUntilMs).toBeGreaterThan(Date.now());
    const retryAfterS = Number(result.headers['retry-after']);
    const expectedS = Math.ceil(((backoffUntilMs ?? 0) - Date.now()) / 1000);
    expect(Math.abs(retryAfterS - expectedS)).toBeLessThanOrEqual(1);
    expect(r.api.stats().authRefused).toBe(1);

    // During the back-off the fleet does not call the issuer again.
    const again = await r.invoke(webhookEvent(message('m-2')));
    expect(again.statusCode).toBe(503);
    expect(bodyOf(again)['code']).toBe('ISSUER_REFUSED');
    expect(r.api.stats().authCalls).toBe(1);
    expectNoLeak(r);
  });

  it('maps a failing chat API (5xx) to 503 CHAT_UNAVAILABLE', async () => {
    const r = await rig({
      chatClient: (config) =>
        createChatClient({
          baseUrl: config.chatApiUrl,
          secret: config.chatAuthSecret,
          fetch: async (input, init) =>
            String(input).endsWith('/messages') ? new Response(JSON.stringify({ error: 'overloaded' }), { status: 502 }) : fetch(input, init),
        }),
    });
    const result = await r.invoke(webhookEvent(message('m-1')));
    expect(result.statusCode).toBe(503);
    expect(result.headers['retry-after']).toBe('2');
    expect(bodyOf(result)).toMatchObject({ status: 'not-sent', code: 'CHAT_UNAVAILABLE' });
    expectNoLeak(r);
  });

  it('maps a store outage to 503 and a misconfigured store to 500, naming the code', async () => {
    const unavailable = await rig({
      store: { read: () => Promise.reject(new StoreUnavailableError('could not read the table (throttled); try again later')), write: () => Promise.reject(new Error('unused')), describe: () => 'broken store' },
    });
    const outage = await unavailable.invoke(webhookEvent(message('m-1')));
    expect(outage.statusCode).toBe(503);
    expect(outage.headers['retry-after']).toBeDefined();
    expect(bodyOf(outage)).toMatchObject({ status: 'not-sent', code: 'STORE_UNAVAILABLE' });

    const misconfigured = await rig({
      store: {
        read: () => Promise.reject(new StoreMisconfiguredError('table baton-test does not exist; create it with …')),
        write: () => Promise.reject(new Error('unused')),
        describe: () => 'broken store',
      },
    });
    const broken = await misconfigured.invoke(webhookEvent(message('m-1')));
    expect(broken.statusCode).toBe(500);
    expect(broken.headers['retry-after']).toBeUndefined();
    expect(bodyOf(broken)).toEqual({ status: 'not-sent', code: 'STORE_MISCONFIGURED', reason: 'table baton-test does not exist; create it with …' });
    expect(misconfigured.api.stats().authCalls).toBe(0);
  });

  it('answers 500 with a generic reason to an unknown error and logs details without the token or the secret', async () => {
    const r = await rig({
      chatClient: (config) => {
        const real = createChatClient({ baseUrl: config.chatApiUrl, secret: config.chatAuthSecret });
        return {
          issueToken: (options) => real.issueToken(options),
          postMessage: async (token) => {
            throw new Error(`boom: request with bearer ${token} and secret ${SECRET} failed`);
          },
        };
      },
    });
    const result = await r.invoke(webhookEvent(message('m-1')));
    expect(result.statusCode).toBe(500);
    expect(bodyOf(result)).toEqual({ status: 'not-sent', code: 'INTERNAL_ERROR', reason: 'internal error; the details are in the function log' });
    const line = r.invocations().at(-1);
    expect(line).toMatchObject({ outcome: 'not-sent', code: 'INTERNAL_ERROR', statusCode: 500, messageId: 'm-1' });
    const error = line?.['error'] as Record<string, unknown>;
    expect(error['message']).toMatch(/^boom: request with bearer fp:[0-9a-f]{10} and secret \[redacted-secret\] failed$/);
    expect(r.issuedTokens).toHaveLength(1);
    expectNoLeak(r);
  });

  it('gives up before Lambda would kill the invocation (deadline from the remaining time)', async () => {
    const r = await rig();
    r.server.setLatency({ authLatencyMs: 3_000 });
    const startedMs = Date.now();
    const result = await r.invoke(webhookEvent(message('m-slow')), LAMBDA_SAFETY_MARGIN_MS + 300);
    const tookMs = Date.now() - startedMs;
    expect(result.statusCode).toBe(503);
    expect(result.headers['retry-after']).toBeDefined();
    expect(bodyOf(result)).toMatchObject({ status: 'not-sent', code: 'TOKEN_UNAVAILABLE' });
    expect(tookMs).toBeLessThan(1_500);
  });
});

/** Clears every variable the bot reads, so the runner's own environment cannot leak into a test. */
function stubBotEnv(vars: Record<string, string>): void {
  for (const name of ['CHAT_API_URL', 'CHAT_AUTH_SECRET', 'BATON_TABLE', 'BATON_KEY', 'BATON_PARTITION_KEY', 'DYNAMODB_ENDPOINT', 'BATON_LEASE_MS', 'BOT_REPLY_DEADLINE_MS']) {
    vi.stubEnv(name, '');
  }
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  for (const [name, value] of Object.entries(vars)) vi.stubEnv(name, value);
}

describe('entry.ts', () => {
  it('fails the cold start with a BotConfigError naming the variables', async () => {
    stubBotEnv({ CHAT_AUTH_SECRET: SECRET, BATON_KEY: 'k' });
    const failure = await import('../../src/lambda/entry.js').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as BotConfigError).code).toBe('BOT_CONFIG_INVALID');
    expect((failure as BotConfigError).problems.map((p) => p.variable)).toEqual(['CHAT_API_URL', 'BATON_TABLE']);
    expect(String((failure as Error).message)).not.toContain(SECRET);
  });

  it('builds one handler with one coordinator at module scope from a valid environment', async () => {
    stubBotEnv({ CHAT_API_URL: 'http://127.0.0.1:9', CHAT_AUTH_SECRET: SECRET, BATON_TABLE: 'baton-test', BATON_KEY: 'chat-bot', DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' });
    const { handler } = await import('../../src/lambda/entry.js');
    const again = await import('../../src/lambda/entry.js');
    expect(typeof handler).toBe('function');
    expect(again.handler).toBe(handler);
    expect(handler.coordinator.stats().storeReads).toBe(0);
  });
});

describe('createHandler: construction', () => {
  it('builds without I/O and applies coordinatorOptions overrides last', () => {
    const config = loadBotConfig({ CHAT_API_URL: 'http://127.0.0.1:9', CHAT_AUTH_SECRET: SECRET, BATON_TABLE: 'baton-test', BATON_KEY: 'k', AWS_REGION: 'eu-west-1' });
    const handler = createHandler(config, { store: new MemoryTokenStore(), logger: capturingLogger().logger, coordinatorOptions: { instanceId: 'bot-7' } });
    expect(handler.coordinator.instanceId).toBe('bot-7');
    expect(handler.coordinator.stats()).toMatchObject({ storeReads: 0, authCalls: 0 });
  });

  it('rejects invalid coordinator options at construction (cold start), not per invocation', () => {
    const config = loadBotConfig({ CHAT_API_URL: 'http://127.0.0.1:9', CHAT_AUTH_SECRET: SECRET, BATON_TABLE: 'baton-test', BATON_KEY: 'k', AWS_REGION: 'eu-west-1' });
    expect(() => createHandler(config, { store: new MemoryTokenStore(), coordinatorOptions: { maxAttempts: 0 } })).toThrow(/maxAttempts/);
  });
});

describe('classifyFailure', () => {
  const nowMs = 1_700_000_000_000;

  it('answers a chat 4xx (the reply itself refused) with 500, not a retry hint', () => {
    const failure = classifyFailure(new ChatApiError('POST /messages answered 400 (room too long)', { operation: 'postMessage', kind: 'http-status', status: 400 }), nowMs);
    expect(failure).toMatchObject({ statusCode: 500, code: 'CHAT_REQUEST_REFUSED', expected: true });
    expect(failure.retryAfterMs).toBeUndefined();
  });

  it('answers chat timeouts and network failures with 503 (outcome unknown, redelivery is deduplicated)', () => {
    for (const kind of ['timeout', 'network', 'aborted'] as const) {
      expect(classifyFailure(new ChatApiError('x', { operation: 'postMessage', kind }), nowMs)).toMatchObject({ statusCode: 503, code: 'CHAT_UNAVAILABLE', retryAfterMs: RETRY_AFTER_MS_DEFAULT });
    }
  });

  it('derives the wait of an issuer refusal from its back-off, with a default when unknown', () => {
    expect(classifyFailure(new IssuerRefusedError('refused', { status: 401, backoffUntilMs: nowMs + 42_000 }), nowMs)).toMatchObject({ statusCode: 503, retryAfterMs: 42_000 });
    expect(classifyFailure(new IssuerRefusedError('refused'), nowMs).retryAfterMs).toBe(ISSUER_REFUSED_RETRY_AFTER_MS_DEFAULT);
    expect(retryAfterSeconds(classifyFailure(new IssuerRefusedError('refused', { backoffUntilMs: nowMs - 5 }), nowMs).retryAfterMs ?? 0)).toBe(1);
  });

  it('answers every retryable Baton error with 503 and every other one with 500', () => {
    expect(classifyFailure(new TokenUnavailableError('deadline', 'no token before the deadline'), nowMs)).toMatchObject({ statusCode: 503, code: 'TOKEN_UNAVAILABLE' });
    expect(classifyFailure(new AttemptsExhaustedError(3, 'three tokens rejected'), nowMs)).toMatchObject({ statusCode: 503, code: 'ATTEMPTS_EXHAUSTED' });
    expect(classifyFailure(new IssuerUnavailableError('POST /auth kept failing'), nowMs)).toMatchObject({ statusCode: 503, code: 'ISSUER_UNAVAILABLE' });
    expect(classifyFailure(new RecordInvalidError('item has schemaVersion 9'), nowMs)).toMatchObject({ statusCode: 500, code: 'RECORD_INVALID', expected: true });
    expect(classifyFailure(new ProtocolViolationError('invariant broken: x'), nowMs)).toMatchObject({ statusCode: 500, code: 'PROTOCOL_VIOLATION', expected: false });
    expect(classifyFailure(new TypeError('oops'), nowMs)).toMatchObject({ statusCode: 500, code: 'INTERNAL_ERROR', expected: false });
  });
});
