/**
 * Chat-API faults on the real path: the strict fake chat API served over HTTP, the bot's real
 * chat client (`createChatClient`), the Lambda adapter (`createHandler`) or the coordinator, and
 * `DynamoDBTokenStore` on embedded dynalite through a real `DynamoDBClient` (with the SDK fault
 * layer installed, used here only to count DynamoDB calls).
 *
 * Each test states the expected outcome first, then asserts it exactly.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeChatApi } from '../../src/fake/chat-api.js';
import { startFakeChatServer } from '../../src/fake/chat-server.js';
import type { FakeChatServer } from '../../src/fake/chat-server.js';
import { ChatApiError, ChatRateLimitedError, createChatClient } from '../../src/lambda/chat-client.js';
import type { ChatClient } from '../../src/lambda/chat-client.js';
import { loadBotConfig } from '../../src/lambda/config.js';
import { createHandler } from '../../src/lambda/handler.js';
import type { BotHandler } from '../../src/lambda/handler.js';
import type { HttpApiEventV2, HttpApiResultV2 } from '../../src/lambda/http.js';
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import type { TokenCoordinator } from '../../src/runtime/api.js';
import { IssuerRefusedError, IssuerUnavailableError } from '../../src/runtime/errors.js';
import type { BatonEvent } from '../../src/runtime/events.js';
import { fromAttributeMap } from '../../src/runtime/record-codec.js';
import { AUTH_SECRET, capturingLogger, rejectionOf, startDynaliteRig, tokenLedger } from '../support/fault-rig.js';
import type { DynaliteRig, TokenLedger } from '../support/fault-rig.js';
import type { SdkFaultLayer } from '../support/sdk-faults.js';

const TABLE = 'baton-chat-faults';

let rig: DynaliteRig;
beforeAll(async () => {
  rig = await startDynaliteRig(TABLE);
});
afterAll(async () => {
  await rig.close();
});

const servers: FakeChatServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface Chat {
  readonly api: FakeChatApi;
  readonly server: FakeChatServer;
  readonly ledger: TokenLedger;
}

async function startChat(options: { authLatencyMs?: number } = {}): Promise<Chat> {
  const ledger = tokenLedger();
  const api = new FakeChatApi({ secret: AUTH_SECRET, clock: { now: () => Date.now() }, generateToken: ledger.generateToken });
  const server = await startFakeChatServer({ api, port: 0, authLatencyMs: options.authLatencyMs ?? 0 });
  servers.push(server);
  return { api, server, ledger };
}

interface Bot {
  readonly handler: BotHandler;
  readonly faults: SdkFaultLayer;
  readonly events: BatonEvent[];
  readonly lines: string[];
  invoke(messageId: string): Promise<HttpApiResultV2>;
}

/** One Lambda instance: the real handler on a DynamoDB store over a real client. */
async function bot(chat: Chat, key: string, options: { chatClient?: ChatClient; leaseMs?: number; label?: string } = {}): Promise<Bot> {
  const { client, faults } = await rig.faultClient({ maxAttempts: 3 });
  const config = loadBotConfig({
    CHAT_API_URL: chat.server.url,
    CHAT_AUTH_SECRET: AUTH_SECRET,
    BATON_TABLE: TABLE,
    BATON_KEY: key,
    AWS_REGION: 'us-east-1',
    DYNAMODB_ENDPOINT: rig.endpoint,
    BOT_REPLY_DEADLINE_MS: '5000',
  });
  const { logger, lines } = capturingLogger();
  const events: BatonEvent[] = [];
  const handler = createHandler(config, {
    store: rig.store(client, key),
    logger,
    onEvent: (event) => events.push(event),
    coordinatorOptions: { pollMs: 10, ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }), ...(options.label === undefined ? {} : { instanceId: options.label }) },
    ...(options.chatClient === undefined ? {} : { chatClient: options.chatClient }),
  });
  return {
    handler,
    faults,
    events,
    lines,
    invoke: (messageId) =>
      handler(webhook(messageId), { awsRequestId: `req-${messageId}`, getRemainingTimeInMillis: () => 30_000 }),
  };
}

function webhook(messageId: string): HttpApiEventV2 {
  return {
    version: '2.0',
    rawPath: '/webhook',
    requestContext: { requestId: `apigw-${messageId}`, http: { method: 'POST', path: '/webhook' } },
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messageId, room: 'general', user: 'ada', text: `hello ${messageId}`, sentAtMs: 1_700_000_000_000 }),
    isBase64Encoded: false,
  };
}

function bodyOf(result: HttpApiResultV2): Record<string, unknown> {
  return JSON.parse(result.body) as Record<string, unknown>;
}

async function storedItem(key: string): Promise<Record<string, unknown> | undefined> {
  const raw = await rig.getRaw(key);
  return raw === undefined ? undefined : fromAttributeMap(raw);
}

/** A chat client whose `fetch` answers `/messages` itself while `fault` says so. */
function clientWithMessagesFault(chat: Chat, fault: (deliver: () => Promise<Response>) => Promise<Response> | undefined): ChatClient {
  return createChatClient({
    baseUrl: chat.server.url,
    secret: AUTH_SECRET,
    fetch: async (input, init) => {
      const deliver = (): Promise<Response> => fetch(input, init);
      if (String(input).endsWith('/messages')) {
        const answer = fault(deliver);
        if (answer !== undefined) return answer;
      }
      return deliver();
    },
  });
}

describe('POST /messages answers 429 with Retry-After: a rate limit, never a token rejection', () => {
  it('answers 503 with Retry-After, makes no POST /auth and no DynamoDB call, and delivers on redelivery', async () => {
    // Expected: a warm instance (1 POST /auth for its first message) is rate-limited on the second one.
    // The handler answers 503, Retry-After 3 (2 500 ms rounded up), code CHAT_RATE_LIMITED; no refresh:
    // 0 more POST /auth, 0 rejections, 0 DynamoDB calls (the cached token is fine). The chat service
    // redelivers: 200 sent, the reply delivered exactly once.
    const chat = await startChat();
    const b = await bot(chat, rig.freshKey('rate-limit'));
    expect((await b.invoke('m-1')).statusCode).toBe(200);
    const wireBefore = b.faults.log.length;
    chat.api.messagesRateLimit = { calls: 1, retryAfterMs: 2_500 };

    const limited = await b.invoke('m-2');

    expect(limited.statusCode).toBe(503);
    expect(limited.headers['retry-after']).toBe('3');
    expect(bodyOf(limited)).toEqual({
      status: 'not-sent',
      code: 'CHAT_RATE_LIMITED',
      reason: 'the chat API rate-limited the reply (HTTP 429; a rate limit, not a token problem); retry after 2500 ms',
    });
    expect(chat.api.stats()).toMatchObject({ authCalls: 1, rateLimited: 1, rejections: 0 });
    expect(b.handler.coordinator.stats()).toMatchObject({ authCalls: 1, rejections: 0 });
    expect(b.faults.log.length).toBe(wireBefore);
    expect(chat.api.deliveries('reply:m-2')).toBe(0);

    const redelivered = await b.invoke('m-2');
    expect(redelivered.statusCode).toBe(200);
    expect(bodyOf(redelivered)).toEqual({ status: 'sent', replyId: 'reply:m-2', duplicate: false });
    expect(chat.api.deliveries('reply:m-2')).toBe(1);
    expect(chat.api.stats().authCalls).toBe(1);
  });

  it('on a cold instance costs exactly the one POST /auth the cold start needs, not a second one', async () => {
    // Expected: the cold instance fetches the first token (1 POST /auth), the message gets 429: 503.
    // The redelivery uses the cached token: still 1 POST /auth, reply delivered once.
    const chat = await startChat();
    chat.api.messagesRateLimit = { calls: 1, retryAfterMs: 1_000 };
    const b = await bot(chat, rig.freshKey('rate-limit-cold'));

    const limited = await b.invoke('m-1');
    expect(limited.statusCode).toBe(503);
    expect(limited.headers['retry-after']).toBe('1');
    expect(chat.api.stats().authCalls).toBe(1);

    expect((await b.invoke('m-1')).statusCode).toBe(200);
    expect(chat.api.stats().authCalls).toBe(1);
    expect(chat.api.deliveries('reply:m-1')).toBe(1);
  });

  it('reaches a coordinator caller as ChatRateLimitedError, unchanged, with the wait the API asked for', async () => {
    // Expected: withToken propagates the chat client's ChatRateLimitedError as is (retryAfterMs 4 000);
    // no rejection is counted and no refresh happens.
    const chat = await startChat();
    const { client } = await rig.faultClient({ maxAttempts: 3 });
    const chatClient = createChatClient({ baseUrl: chat.server.url, secret: AUTH_SECRET });
    const coordinator = createTokenCoordinator({ store: rig.store(client, rig.freshKey('rate-limit-direct')), issueToken: ({ signal }) => chatClient.issueToken({ signal }), pollMs: 10 });
    chat.api.messagesRateLimit = { calls: 1, retryAfterMs: 4_000 };

    const error = await rejectionOf(coordinator.withToken((token) => chatClient.postMessage(token, { messageId: 'r-1', room: 'general', text: 'hi' })));

    expect(error).toBeInstanceOf(ChatRateLimitedError);
    expect(error).toMatchObject({ code: 'CHAT_RATE_LIMITED', status: 429, retryAfterMs: 4_000 });
    expect(error.message).toMatch(/^POST \/messages answered 429 \(rate limited\); the token fp:[0-9a-f]{10} is fine, post messageId r-1 again after 4000 ms$/);
    expect(coordinator.stats()).toMatchObject({ authCalls: 1, rejections: 0 });
    expect(chat.api.stats().authCalls).toBe(1);
  });
});

describe('POST /messages answers 5xx', () => {
  it('answers 503 CHAT_UNAVAILABLE with a clear reason and never refreshes; the redelivery is delivered once', async () => {
    // Expected: /messages answers 502 once (nothing delivered). The handler answers 503, Retry-After 2,
    // code CHAT_UNAVAILABLE, reason naming the status and saying the message may not have been delivered.
    // No refresh (1 POST /auth in all, 0 rejections). The redelivery is delivered exactly once.
    const chat = await startChat();
    let failures = 1;
    const b = await bot(chat, rig.freshKey('messages-502'), {
      chatClient: clientWithMessagesFault(chat, () => (failures-- > 0 ? Promise.resolve(new Response(JSON.stringify({ error: 'bad gateway' }), { status: 502 })) : undefined)),
    });

    const failed = await b.invoke('m-1');

    expect(failed.statusCode).toBe(503);
    expect(failed.headers['retry-after']).toBe('2');
    expect(bodyOf(failed)).toEqual({
      status: 'not-sent',
      code: 'CHAT_UNAVAILABLE',
      reason: 'the chat API failed: POST /messages answered 502 (bad gateway); the message may or may not have been delivered; retry with the same messageId',
    });
    expect(chat.api.stats()).toMatchObject({ authCalls: 1, rejections: 0, messagesAccepted: 0 });
    expect(b.handler.coordinator.stats()).toMatchObject({ rejections: 0, authCalls: 1 });

    expect((await b.invoke('m-1')).statusCode).toBe(200);
    expect(chat.api.deliveries('reply:m-1')).toBe(1);
    expect(chat.api.stats().authCalls).toBe(1);
  });

  it('when the 500 comes after the chat API delivered: the redelivery is recognised as a duplicate, nothing is posted twice', async () => {
    // Expected: the first POST /messages is delivered by the API but answered 500 on the way back; the
    // handler answers 503. The redelivery posts the same reply id: the API accepts it as a duplicate
    // (one unique reply), the handler answers 200 with duplicate: true. No refresh.
    const chat = await startChat();
    let failures = 1;
    const b = await bot(chat, rig.freshKey('messages-500-after'), {
      chatClient: clientWithMessagesFault(chat, (deliver) =>
        failures-- > 0 ? deliver().then(() => new Response(JSON.stringify({ error: 'upstream timeout' }), { status: 500 })) : undefined,
      ),
    });

    expect((await b.invoke('m-1')).statusCode).toBe(503);
    const again = await b.invoke('m-1');

    expect(again.statusCode).toBe(200);
    expect(bodyOf(again)).toEqual({ status: 'sent', replyId: 'reply:m-1', duplicate: true });
    expect(chat.api.delivered().map((message) => [message.messageId, message.deliveries])).toEqual([['reply:m-1', 2]]);
    expect(chat.api.stats()).toMatchObject({ authCalls: 1, rejections: 0, duplicates: 1 });
  });
});

describe('POST /auth slower than the lease (POST /auth 1 500 ms, the client honours the abort)', () => {
  /** One coordinator on dynalite whose issuer (the real chat client) takes 1.5 s, with lease `leaseMs`. */
  async function slowIssuerRig(name: string, leaseMs: number) {
    const chat = await startChat({ authLatencyMs: 1_500 });
    const { client } = await rig.faultClient({ maxAttempts: 3 });
    const key = rig.freshKey(name);
    const chatClient = createChatClient({ baseUrl: chat.server.url, secret: AUTH_SECRET, timeoutMs: 5_000 });
    const events: BatonEvent[] = [];
    const coordinator: TokenCoordinator = createTokenCoordinator({
      store: rig.store(client, key),
      issueToken: ({ signal }) => chatClient.issueToken({ signal }),
      leaseMs,
      pollMs: 10,
      onEvent: (event) => events.push(event),
    });
    return { chat, key, chatClient, events, coordinator };
  }

  it('waits for an issuer 1.5× slower than the lease: heartbeats keep the lease, one POST /auth, published, nobody aborted', async () => {
    // Expected: lease 1 s, POST /auth takes 1.5 s. The holder renews its lease every 400 ms while the
    // call runs (heartbeats) and moves the abort point with it, so the call completes: one POST /auth,
    // one token published, the message delivered after ~1.5 s.
    const { chat, key, chatClient, events, coordinator } = await slowIssuerRig('slow-issuer-heartbeat', 1_000);
    const startedMs = Date.now();
    const sent = await coordinator.withToken((token) => chatClient.postMessage(token, { messageId: 'slow-ok', room: 'general', text: 'hi' }), {
      deadlineMs: Date.now() + 10_000,
    });
    expect(sent).toEqual({ duplicate: false });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(1_500);
    expect(events.filter((event) => event.type === 'issuer-call').map((event) => (event.type === 'issuer-call' ? event.outcome : ''))).toEqual(['issued']);
    const heartbeats = events.filter((event) => event.type === 'store-write' && event.intent === 'renew' && event.outcome === 'applied');
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(coordinator.stats()).toMatchObject({ authCalls: 1, publishes: 1, fencedWrites: 0 });
    expect(chat.api.stats()).toMatchObject({ authCalls: 1, rejections: 0 });
    expect(await storedItem(key)).toMatchObject({ generation: 1, token: chat.ledger.tokens[0] });
  });

  it('an issuer slower than the heartbeats allow: one call, aborted and not retried, IssuerUnavailableError, a fleet pause, then recovery', async () => {
    // Expected: lease 250 ms, so heartbeats (every 100 ms, at most 5) keep a call alive for about
    // 0.8 + 5 × 0.4 = 2.8 leases (~700 ms); POST /auth takes 1.5 s, so the call is aborted then.
    // With every heartbeat spent, the holder does not retry (the issuer is slower than the bound): it
    // releases the lease and records ISSUER_UNAVAILABLE with a 1 s fleet-wide pause. The caller gets
    // a retryable IssuerUnavailableError after ~0.7 s, never a token. The server saw exactly 1 POST
    // /auth (it issued a token nobody received). During the pause a call fails at once with no POST
    // /auth. Once the issuer answers in 20 ms and the pause is over, one call succeeds with exactly
    // one more POST /auth.
    const { chat, key, chatClient, events, coordinator } = await slowIssuerRig('slow-issuer', 250);
    const send = (messageId: string): Promise<{ duplicate: boolean }> =>
      coordinator.withToken((token) => chatClient.postMessage(token, { messageId, room: 'general', text: 'hi' }), { deadlineMs: Date.now() + 10_000 });
    const startedMs = Date.now();

    const error = await rejectionOf(send('slow-1'));
    const tookMs = Date.now() - startedMs;

    expect(error).toBeInstanceOf(IssuerUnavailableError);
    expect(error).toMatchObject({ code: 'ISSUER_UNAVAILABLE', retryable: true });
    expect(error.message).toMatch(
      /^POST \/auth gave no usable answer 1 time\(s\) in a row \(5xx, timeout or lost answer\); the lease was released and the fleet retries after \d{4}-\d\d-\d\dT[\d:.]+Z\.$/,
    );
    expect(tookMs).toBeGreaterThanOrEqual(700 - 50);
    expect(tookMs).toBeLessThan(700 + 1_000);
    expect(events.filter((event) => event.type === 'issuer-call').map((event) => (event.type === 'issuer-call' ? event.outcome : ''))).toEqual(['unknown']);
    const heartbeats = events.filter((event) => event.type === 'store-write' && event.intent === 'renew' && event.outcome === 'applied');
    expect(heartbeats).toHaveLength(5);
    expect(coordinator.stats().authCalls).toBe(1);
    const item = await storedItem(key);
    expect(item).toMatchObject({ generation: 0, failureCode: 'ISSUER_UNAVAILABLE', failureCount: 1 });
    expect(item?.['leaseId']).toBeUndefined();
    expect(item?.['token']).toBeUndefined();
    const pauseUntilMs = item?.['backoffUntilMs'] as number;
    expect(pauseUntilMs - (item?.['failureAtMs'] as number)).toBe(1_000);

    // During the pause: an immediate IssuerUnavailableError, no POST /auth, no store write.
    const writesBefore = coordinator.stats().storeWrites;
    const paused = await rejectionOf(send('slow-2'));
    expect(paused).toBeInstanceOf(IssuerUnavailableError);
    expect(Date.now()).toBeLessThan(pauseUntilMs);
    expect(coordinator.stats()).toMatchObject({ authCalls: 1, storeWrites: writesBefore });

    // The server finishes the abandoned request after its latency: exactly 1 POST /auth.
    await expect.poll(() => chat.api.stats().authCalls, { timeout: 2_000, interval: 20 }).toBe(1);

    chat.server.setLatency({ authLatencyMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, pauseUntilMs - Date.now() + 20)));
    expect(await send('slow-3')).toEqual({ duplicate: false });
    expect(coordinator.stats().authCalls).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(chat.api.stats()).toMatchObject({ authCalls: 2, authIssued: 2, rejections: 0 });
    expect(await storedItem(key)).toMatchObject({ generation: 1, token: chat.ledger.tokens[1] });
  });
});

describe('POST /auth fails with an unknown outcome (S6 on the real client path)', () => {
  it.each(['error-500', 'drop-after-issue'] as const)('with auth mode %s: 3 bounded attempts under one lease, IssuerUnavailableError, nothing published', async (mode) => {
    // Expected: every POST /auth fails (500, or the answer is dropped after the server issued a token);
    // the holder retries under its lease (renewing it), 3 attempts, then releases it with an
    // ISSUER_UNAVAILABLE pause. The caller gets IssuerUnavailableError; no guess is published.
    const chat = await startChat();
    chat.api.authMode = mode;
    const b = await bot(chat, rig.freshKey(`auth-${mode}`), { leaseMs: 2_000 });

    const result = await b.invoke('m-1');

    expect(result.statusCode).toBe(503);
    expect(bodyOf(result)).toMatchObject({ status: 'not-sent', code: 'ISSUER_UNAVAILABLE' });
    expect(chat.api.stats().authCalls).toBe(3);
    expect(chat.api.stats().authIssued).toBe(mode === 'drop-after-issue' ? 3 : 0);
    const writes = b.events.flatMap((event) => (event.type === 'store-write' ? [`${event.intent}:${event.outcome}`] : []));
    expect(writes).toEqual(['claim:applied', 'renew:applied', 'renew:applied', 'release:applied']);
    expect(chat.api.deliveries('reply:m-1')).toBe(0);
  });
});

describe('the credentials are refused (S8: the secret was rotated)', () => {
  it('records one refusal with a back-off in the item; 10 instances make 1 POST /auth in all and every message is answered 503 not-sent', async () => {
    // Expected: 10 Lambda instances (own DynamoDB clients, one item) each get a webhook at once. One
    // claims and calls POST /auth, which answers 401: it records ISSUER_REFUSED, failureStatus 401,
    // failureCount 1 and a 5 s back-off in the item and releases its lease. Every instance answers 503
    // ISSUER_REFUSED with a Retry-After of about 5 s and a reason naming CHAT_AUTH_SECRET. A second
    // wave during the back-off makes no POST /auth at all: 1 POST /auth in all (S8 allows at most 3).
    const chat = await startChat();
    chat.api.authMode = 'refuse';
    const key = rig.freshKey('refused');
    const fleet = await Promise.all(Array.from({ length: 10 }, (_, n) => bot(chat, key, { label: `bot-${n}` })));

    const first = await Promise.all(fleet.map((b, n) => b.invoke(`first-${n}`)));

    const item = await storedItem(key);
    expect(item).toMatchObject({ generation: 0, failureCode: 'ISSUER_REFUSED', failureStatus: 401, failureCount: 1 });
    expect(item?.['leaseId']).toBeUndefined();
    const backoffUntilMs = item?.['backoffUntilMs'] as number;
    expect(backoffUntilMs - (item?.['failureAtMs'] as number)).toBe(5_000);
    for (const result of first) {
      expect(result.statusCode).toBe(503);
      const body = bodyOf(result);
      expect(body).toMatchObject({ status: 'not-sent', code: 'ISSUER_REFUSED' });
      expect(body['reason']).toMatch(/^the chat API refused the bot's credentials \(POST \/auth answered 401\): check CHAT_AUTH_SECRET; no new token is requested before /);
      expect(Number(result.headers['retry-after'])).toBeGreaterThanOrEqual(4);
      expect(Number(result.headers['retry-after'])).toBeLessThanOrEqual(5);
    }
    expect(chat.api.stats()).toMatchObject({ authCalls: 1, authRefused: 1, authIssued: 0 });

    const second = await Promise.all(fleet.map((b, n) => b.invoke(`second-${n}`)));
    expect(second.map((result) => [result.statusCode, bodyOf(result)['code']])).toEqual(Array.from({ length: 10 }, () => [503, 'ISSUER_REFUSED']));
    expect(chat.api.stats().authCalls).toBe(1);
    expect(chat.api.delivered()).toEqual([]);
    const refusedErrorsLogged = fleet.flatMap((b) => b.lines).filter((line) => line.includes('"code":"ISSUER_REFUSED"'));
    expect(refusedErrorsLogged).toHaveLength(20);
  });

  it('gives a coordinator caller IssuerRefusedError carrying the status and the back-off end recorded in the item', async () => {
    // Expected: IssuerRefusedError, not retryable, status 401, backoffUntilMs equal to the item's.
    const chat = await startChat();
    chat.api.authMode = 'refuse';
    const key = rig.freshKey('refused-direct');
    const { client } = await rig.faultClient({ maxAttempts: 3 });
    const chatClient = createChatClient({ baseUrl: chat.server.url, secret: AUTH_SECRET });
    const coordinator = createTokenCoordinator({ store: rig.store(client, key), issueToken: ({ signal }) => chatClient.issueToken({ signal }), pollMs: 10 });

    const error = await rejectionOf(coordinator.withToken((token) => chatClient.postMessage(token, { messageId: 'x-1', room: 'general', text: 'hi' })));

    expect(error).toBeInstanceOf(IssuerRefusedError);
    const item = await storedItem(key);
    expect(error).toMatchObject({ code: 'ISSUER_REFUSED', retryable: false, status: 401, backoffUntilMs: item?.['backoffUntilMs'] });
    expect(error.message.length).toBeGreaterThan(20);
    expect(error).not.toBeInstanceOf(ChatApiError);
  });
});
