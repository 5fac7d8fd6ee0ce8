import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeChatApi } from '../../src/fake/chat-api.js';
import type { FakeChatApiOptions } from '../../src/fake/chat-api.js';
import { startFakeChatServer } from '../../src/fake/chat-server.js';
import type { FakeChatServer, FakeChatServerOptions, Sleep } from '../../src/fake/chat-server.js';
import {
  CHAT_ERROR_CODES,
  ChatApiError,
  ChatRateLimitedError,
  DEFAULT_RETRY_AFTER_MS,
  RESPONSE_BODY_BYTES_MAX,
  createChatClient,
} from '../../src/lambda/chat-client.js';
import type { ChatClientOptions } from '../../src/lambda/chat-client.js';
import { BatonError, ERROR_CODES, IssuerRefusedError, TokenRejectedError } from '../../src/runtime/errors.js';
import { fingerprint } from '../../src/runtime/fingerprint.js';

const SECRET = 'sekret-client-5d80';
const servers: FakeChatServer[] = [];
/** Every error any test saw, checked at the end for leaked tokens and secrets. */
const seenErrors: unknown[] = [];
const seenTokens = new Set<string>();

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function setup(apiOptions: Partial<FakeChatApiOptions> = {}, serverOptions: Partial<Omit<FakeChatServerOptions, 'api'>> = {}, clientOptions: Partial<ChatClientOptions> = {}) {
  const time = { nowMs: 50_000 };
  const api = new FakeChatApi({ secret: SECRET, clock: { now: () => time.nowMs }, ...apiOptions });
  const server = await startFakeChatServer({ api, ...serverOptions });
  servers.push(server);
  const client = createChatClient({ baseUrl: server.url, secret: SECRET, ...clientOptions });
  return { api, server, client, time };
}

/** The rejection of `promise`, remembered for the leak check. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error === undefined) throw new Error('expected the call to fail, it succeeded');
  seenErrors.push(error);
  return error;
}

async function issued(client: ReturnType<typeof createChatClient>): Promise<string> {
  const { token } = await client.issueToken();
  seenTokens.add(token);
  return token;
}

function gatedSleep() {
  const waits: Array<{ ms: number; release: () => void }> = [];
  const sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      waits.push({ ms, release: resolve });
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  return { sleep, waits };
}

/** A fetch that answers with a fixed response and records what it was asked. */
function fixedFetch(status: number, body: string, headers: Record<string, string> = {}) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetchStub: typeof fetch = async (input, init) => {
    calls.push({ url: String(input), init });
    return new Response(body, { status, headers });
  };
  return { fetchStub, calls };
}

const message = (messageId: string) => ({ messageId, room: 'general', text: `hello ${messageId}` });

describe('chat client: issueToken', () => {
  it('returns the token and, with a TTL, expiresAtMs', async () => {
    const { client, api } = await setup({ tokenTtlMs: 30_000 });
    const result = await client.issueToken();
    seenTokens.add(result.token);
    expect(result).toEqual({ token: expect.stringMatching(/^ct_1_[0-9a-f]{32}$/), expiresAtMs: 80_000 });
    expect(api.current()?.tokenFingerprint).toBe(fingerprint(result.token));
  });

  it('omits expiresAtMs when the token never expires', async () => {
    const { client } = await setup();
    const result = await client.issueToken();
    seenTokens.add(result.token);
    expect(Object.keys(result)).toEqual(['token']);
  });

  it('throws IssuerRefusedError with the status for a wrong secret and in refuse mode', async () => {
    const { server, api } = await setup();
    const wrong = createChatClient({ baseUrl: server.url, secret: 'sekret-wrong-0000' });
    const error = await failure(wrong.issueToken());
    expect(error).toBeInstanceOf(IssuerRefusedError);
    expect(error).toMatchObject({ code: ERROR_CODES.ISSUER_REFUSED, status: 401, retryable: false });
    expect((error as Error).message).not.toContain('sekret-wrong-0000');
    api.authMode = 'refuse';
    const right = createChatClient({ baseUrl: server.url, secret: SECRET });
    expect(await failure(right.issueToken())).toMatchObject({ name: 'IssuerRefusedError', status: 401 });
  });

  it('throws IssuerRefusedError for 403', async () => {
    const { fetchStub } = fixedFetch(403, '{"error":"forbidden"}');
    const client = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: fetchStub });
    expect(await failure(client.issueToken())).toMatchObject({ name: 'IssuerRefusedError', status: 403 });
  });

  it('throws an unknown-outcome ChatApiError (not a BatonError) for 500', async () => {
    const { client } = await setup({ authMode: 'error-500' });
    const error = await failure(client.issueToken());
    expect(error).toBeInstanceOf(ChatApiError);
    expect(error).not.toBeInstanceOf(BatonError);
    expect(error).toMatchObject({ code: CHAT_ERROR_CODES.CHAT_API_ERROR, operation: 'issueToken', kind: 'http-status', status: 500 });
    expect((error as Error).message).toBe('POST /auth answered 500 (internal error (fault injected: authMode error-500)); the outcome is unknown (a token may have been issued); retry');
  });

  it('surfaces drop-after-issue as an unknown-outcome network error, while the server did issue', async () => {
    const { client, api } = await setup({ authMode: 'drop-after-issue' });
    const error = await failure(client.issueToken());
    expect(error).toBeInstanceOf(ChatApiError);
    expect(error).toMatchObject({ kind: 'network', status: undefined });
    expect((error as Error).message).toMatch(/^POST \/auth failed before an answer arrived \(.+\); the outcome is unknown \(a token may have been issued\); retry$/);
    expect(api.stats()).toMatchObject({ authIssued: 1, authDropped: 1, currentGeneration: 1 });
  });

  it('times out on a slow issuer with kind timeout', async () => {
    const { sleep } = gatedSleep(); // never released: the issuer hangs
    const { client } = await setup({}, { sleep, authLatencyMs: 10_000 }, { timeoutMs: 80 });
    const startedMs = performance.now();
    const error = await failure(client.issueToken());
    expect(error).toMatchObject({ name: 'ChatApiError', kind: 'timeout', status: undefined });
    expect((error as Error).message).toBe('POST /auth timed out after 80 ms; the outcome is unknown (a token may have been issued); retry');
    expect(performance.now() - startedMs).toBeLessThan(2_000);
  });

  it('honours the caller signal: aborts a pending request promptly', async () => {
    const { sleep, waits } = gatedSleep();
    const { client, api } = await setup({}, { sleep, authLatencyMs: 10_000 });
    const controller = new AbortController();
    const pending = failure(client.issueToken({ signal: controller.signal }));
    await vi.waitFor(() => expect(waits.length).toBe(1));
    const startedMs = performance.now();
    controller.abort(new Error('lease lost'));
    const error = await pending;
    expect(performance.now() - startedMs).toBeLessThan(1_000);
    expect(error).toMatchObject({ name: 'ChatApiError', kind: 'aborted' });
    expect((error as Error).cause).toEqual(new Error('lease lost'));
    // The server still processes it once the latency ends: that is why the outcome is "unknown".
    waits[0]?.release();
    await vi.waitFor(() => expect(api.stats().currentGeneration).toBe(1));
  });

  it('does not send at all when the signal is already aborted', async () => {
    const { client, api } = await setup();
    const error = await failure(client.issueToken({ signal: AbortSignal.abort() }));
    expect(error).toMatchObject({ kind: 'aborted' });
    expect((error as Error).message).toBe("POST /auth was not sent: the caller's signal was already aborted");
    expect(api.stats().authCalls).toBe(0);
  });

  it.each([
    ['not JSON', 'hello'],
    ['no token', '{"expiresAtMs": 5}'],
    ['an empty token', '{"token": ""}'],
    ['a token with a space', '{"token": "a b"}'],
    ['a bad expiresAtMs', '{"token": "abc", "expiresAtMs": "soon"}'],
  ])('rejects a malformed 200 body (%s) with a clear error', async (_label, body) => {
    const { fetchStub } = fixedFetch(200, body);
    const client = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: fetchStub });
    const error = await failure(client.issueToken());
    expect(error).toMatchObject({ name: 'ChatApiError', kind: 'malformed-response', status: 200 });
    expect((error as Error).message).toMatch(/^POST \/auth answered 200 with a malformed body: .+; a token was probably issued but is unusable, retry$/);
  });

  it('rejects a 200 body larger than the bound', async () => {
    const { fetchStub } = fixedFetch(200, JSON.stringify({ token: 'abc', pad: 'x'.repeat(RESPONSE_BODY_BYTES_MAX) }));
    const client = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: fetchStub });
    expect((await failure(client.issueToken())) as Error).toMatchObject({ kind: 'malformed-response', message: expect.stringContaining(`exceeds ${RESPONSE_BODY_BYTES_MAX} bytes`) });
  });

  it('sends the secret as JSON to <baseUrl>/auth, keeping the base path, and refuses redirects', async () => {
    const { fetchStub, calls } = fixedFetch(200, '{"token":"t-1"}');
    const client = createChatClient({ baseUrl: 'http://chat.test/api/v2', secret: SECRET, fetch: fetchStub });
    expect(await client.issueToken()).toEqual({ token: 't-1' });
    expect(calls[0]?.url).toBe('http://chat.test/api/v2/auth');
    expect(calls[0]?.init).toMatchObject({ method: 'POST', body: JSON.stringify({ secret: SECRET }), redirect: 'error' });
  });

  it('reports a refused connection as a network error', async () => {
    const { server } = await setup();
    const url = server.url;
    await server.close();
    const client = createChatClient({ baseUrl: url, secret: SECRET });
    expect(await failure(client.issueToken())).toMatchObject({ name: 'ChatApiError', kind: 'network' });
  });

  it('answers 404 with advice to check baseUrl', async () => {
    const { server } = await setup();
    const client = createChatClient({ baseUrl: `${server.url}/wrong`, secret: SECRET });
    const error = await failure(client.issueToken());
    expect(error).toMatchObject({ kind: 'http-status', status: 404 });
    expect((error as Error).message).toMatch(/^POST \/auth answered 404 .*; check baseUrl and the API version$/);
  });
});

describe('chat client: postMessage', () => {
  it('posts with the bearer and reports duplicates', async () => {
    const { client, api } = await setup();
    const token = await issued(client);
    expect(await client.postMessage(token, { ...message('m-1'), inReplyTo: 'q-1' })).toEqual({ duplicate: false });
    expect(await client.postMessage(token, message('m-1'))).toEqual({ duplicate: true });
    expect(api.delivered()).toEqual([expect.objectContaining({ messageId: 'm-1', inReplyTo: 'q-1', deliveries: 2 })]);
  });

  it('throws TokenRejectedError on 401, naming the token by fingerprint only', async () => {
    const { client } = await setup();
    const first = await issued(client);
    await issued(client);
    const error = await failure(client.postMessage(first, message('m-1')));
    expect(error).toBeInstanceOf(TokenRejectedError);
    expect(error).toMatchObject({ code: ERROR_CODES.TOKEN_REJECTED, retryable: true });
    expect((error as Error).message).toBe(`POST /messages answered 401: the chat API rejected token ${fingerprint(first)} (superseded)`);
  });

  it('throws TokenRejectedError for an expired token', async () => {
    const { client, api } = await setup();
    const token = await issued(client);
    api.expireCurrent();
    expect(await failure(client.postMessage(token, message('m-1')))).toBeInstanceOf(TokenRejectedError);
  });

  it('throws ChatRateLimitedError on 429, which is never a token rejection', async () => {
    const { client, api } = await setup();
    const token = await issued(client);
    api.messagesRateLimit = { calls: 1, retryAfterMs: 1_500 };
    const error = await failure(client.postMessage(token, message('m-1')));
    expect(error).toBeInstanceOf(ChatRateLimitedError);
    expect(error).not.toBeInstanceOf(TokenRejectedError);
    expect(error).not.toBeInstanceOf(BatonError);
    expect(error).toMatchObject({ name: 'ChatRateLimitedError', code: CHAT_ERROR_CODES.CHAT_RATE_LIMITED, status: 429, retryAfterMs: 1_500 });
    expect((error as Error).message).toBe(`POST /messages answered 429 (rate limited); the token ${fingerprint(token)} is fine, post messageId m-1 again after 1500 ms`);
    expect(await client.postMessage(token, message('m-1'))).toEqual({ duplicate: false });
  });

  it('reads Retry-After seconds when the body has no retryAfterMs, else uses the default', async () => {
    const withHeader = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: fixedFetch(429, '', { 'retry-after': '3' }).fetchStub });
    expect(await failure(withHeader.postMessage('tok-abc', message('m-1')))).toMatchObject({ retryAfterMs: 3_000 });
    const bare = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: fixedFetch(429, 'slow down').fetchStub });
    expect(await failure(bare.postMessage('tok-abc', message('m-1')))).toMatchObject({ retryAfterMs: DEFAULT_RETRY_AFTER_MS });
  });

  it('throws ChatApiError with the status and the server reason for a 400', async () => {
    const { client, api } = await setup();
    const token = await issued(client);
    const error = await failure(client.postMessage(token, { ...message('m-1'), text: 'x'.repeat(4_001) }));
    expect(error).toMatchObject({ name: 'ChatApiError', operation: 'postMessage', kind: 'http-status', status: 400 });
    expect((error as Error).message).toBe('POST /messages answered 400 (text must be a non-empty string of at most 4000 characters); the message was not delivered; fix the request');
    expect(api.deliveries('m-1')).toBe(0);
  });

  it('throws ChatApiError for 5xx, saying the delivery is unknown', async () => {
    const client = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: fixedFetch(503, '{"error":"busy"}').fetchStub });
    const error = await failure(client.postMessage('tok-abc', message('m-1')));
    expect(error).toMatchObject({ kind: 'http-status', status: 503 });
    expect((error as Error).message).toBe('POST /messages answered 503 (busy); the message may or may not have been delivered; retry with the same messageId');
  });

  it('rejects a malformed 200 answer', async () => {
    const client = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: fixedFetch(200, '{"delivered":true}').fetchStub });
    expect(await failure(client.postMessage('tok-abc', message('m-1')))).toMatchObject({ kind: 'malformed-response', status: 200 });
  });

  it('times out and aborts like issueToken', async () => {
    const { sleep, waits } = gatedSleep();
    const { client } = await setup({}, { sleep, messageLatencyMs: 10_000 }, { timeoutMs: 5_000 });
    const token = await issued(client);
    const controller = new AbortController();
    const pending = failure(client.postMessage(token, message('m-1'), { signal: controller.signal }));
    await vi.waitFor(() => expect(waits.length).toBe(1));
    controller.abort();
    expect(await pending).toMatchObject({ kind: 'aborted', operation: 'postMessage' });

    const quick = createChatClient({ baseUrl: servers[0]?.url ?? '', secret: SECRET, timeoutMs: 50 });
    const error = await failure(quick.postMessage(token, message('m-2')));
    expect(error).toMatchObject({ kind: 'timeout' });
    expect((error as Error).message).toBe('POST /messages timed out after 50 ms; the message may or may not have been delivered; retry with the same messageId');
  });

  it('validates the token and the message before sending, without echoing the token', async () => {
    const { fetchStub, calls } = fixedFetch(200, '{"delivered":true,"duplicate":false}');
    const client = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: fetchStub });
    const badToken = 'tok with spaces\r\nx-evil: 1';
    const error = await failure(client.postMessage(badToken, message('m-1')));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).not.toContain('tok with spaces');
    await expect(client.postMessage('', message('m-1'))).rejects.toThrow(/token must be a non-empty string/);
    await expect(client.postMessage('tok', { ...message('m-1'), messageId: '' })).rejects.toThrow(/messageId must be a non-empty string/);
    await expect(client.postMessage('tok', { ...message('m-1'), room: '' })).rejects.toThrow(/room must be a non-empty string \(messageId m-1\)/);
    await expect(client.postMessage('tok', { ...message('m-1'), text: 7 as never })).rejects.toThrow(/text must be a non-empty string/);
    await expect(client.postMessage('tok', { ...message('m-1'), inReplyTo: undefined as never })).rejects.toThrow(/inReplyTo, when present/);
    expect(calls.length).toBe(0);
  });

  it('sends only the known message fields', async () => {
    const { fetchStub, calls } = fixedFetch(200, '{"delivered":true,"duplicate":false}');
    const client = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: fetchStub });
    await client.postMessage('tok-1', { ...message('m-1'), extra: 'ignored' } as never);
    expect(calls[0]?.init?.body).toBe(JSON.stringify(message('m-1')));
    expect(calls[0]?.init?.headers).toMatchObject({ authorization: 'Bearer tok-1' });
  });
});

describe('chat client: options and secrecy', () => {
  it('validates its options without echoing the URL or the secret', () => {
    expect(() => createChatClient({ baseUrl: 'ftp://chat.test', secret: SECRET })).toThrow(/baseUrl must be an absolute http\(s\) URL/);
    expect(() => createChatClient({ baseUrl: 'not a url', secret: SECRET })).toThrow(/does not parse as a URL/);
    let leaked: unknown;
    try {
      createChatClient({ baseUrl: 'http://user:hunter2@chat.test', secret: SECRET });
    } catch (error) {
      leaked = error;
    }
    expect(leaked).toMatchObject({ name: 'InvalidOptionsError', option: 'baseUrl' });
    expect((leaked as Error).message).not.toContain('hunter2');
    expect(() => createChatClient({ baseUrl: 'http://chat.test?x=1', secret: SECRET })).toThrow(/without credentials, query or fragment/);
    expect(() => createChatClient({ baseUrl: 'http://chat.test', secret: '' })).toThrow(/secret must be a non-empty string/);
    expect(() => createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, timeoutMs: 0 })).toThrow(/timeoutMs must be an integer from 1/);
    expect(() => createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: 'x' as never })).toThrow(/fetch must be a function/);
  });

  it('redacts the secret and the token from messages of a failing custom fetch', async () => {
    const throwing: typeof fetch = async (_input, init) => {
      throw new TypeError(`boom: ${String(init?.body)} ${JSON.stringify(init?.headers)}`);
    };
    const client = createChatClient({ baseUrl: 'http://chat.test', secret: SECRET, fetch: throwing });
    const authError = await failure(client.issueToken());
    expect((authError as Error).message).toContain('[redacted]');
    seenTokens.add('tok-secret-value');
    const postError = await failure(client.postMessage('tok-secret-value', message('m-1')));
    expect((postError as Error).message).toContain('[redacted]');
  });

  it('never put a token or the secret in any error message seen in this file', () => {
    expect(seenErrors.length).toBeGreaterThan(20);
    // Every fake API here uses the default seed, so the same few tokens recur across tests.
    expect(seenTokens.size).toBeGreaterThanOrEqual(3);
    for (const error of seenErrors) {
      let text = '';
      for (let current: unknown = error; current instanceof Error; current = current.cause) text += `${current.message}\n${current.stack ?? ''}\n`;
      expect(text).not.toContain(SECRET);
      for (const token of seenTokens) expect(text).not.toContain(token);
    }
  });
});
