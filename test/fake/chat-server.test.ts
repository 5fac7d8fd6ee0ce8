import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeChatApi } from '../../src/fake/chat-api.js';
import type { FakeChatApiOptions } from '../../src/fake/chat-api.js';
import { REQUEST_BODY_BYTES_MAX, startFakeChatServer } from '../../src/fake/chat-server.js';
import type { FakeChatServer, FakeChatServerOptions, Sleep } from '../../src/fake/chat-server.js';
import { InvalidOptionsError } from '../../src/runtime/errors.js';
import { fingerprint } from '../../src/runtime/fingerprint.js';

const SECRET = 'sekret-server-91c2';
const servers: FakeChatServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function setup(apiOptions: Partial<FakeChatApiOptions> = {}, serverOptions: Partial<Omit<FakeChatServerOptions, 'api'>> = {}) {
  const time = { nowMs: 10_000 };
  const api = new FakeChatApi({ secret: SECRET, clock: { now: () => time.nowMs }, ...apiOptions });
  const server = await startFakeChatServer({ api, ...serverOptions });
  servers.push(server);
  return { api, server, time };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

async function call(server: FakeChatServer, method: string, path: string, options: { body?: unknown; raw?: string; bearer?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.bearer !== undefined) headers['authorization'] = `Bearer ${options.bearer}`;
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text.length === 0 ? undefined : JSON.parse(text) };
}

async function auth(server: FakeChatServer, secret = SECRET): Promise<string> {
  const answer = await call(server, 'POST', '/auth', { body: { secret } });
  expect(answer.status).toBe(200);
  return (answer.body as { token: string }).token;
}

const message = (messageId: string) => ({ messageId, room: 'general', text: `hello ${messageId}` });

/** A sleep the test releases by hand, so latency is observable without racing a timer. */
function gatedSleep() {
  const waits: Array<{ ms: number; release: () => void }> = [];
  const sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      waits.push({ ms, release: resolve });
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  return { sleep, waits };
}

describe('fake chat server: POST /auth', () => {
  it('issues a token (200 { token }) and the second auth kills the first token', async () => {
    const { server } = await setup();
    const first = await auth(server);
    expect(first).toMatch(/^ct_1_[0-9a-f]{32}$/);
    const second = await auth(server);
    expect(second).toMatch(/^ct_2_/);
    const rejected = await call(server, 'POST', '/messages', { bearer: first, body: message('m-1') });
    expect(rejected.status).toBe(401);
    expect(rejected.body).toEqual({ error: 'token rejected', reason: 'superseded' });
    expect(rejected.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    const accepted = await call(server, 'POST', '/messages', { bearer: second, body: message('m-1') });
    expect(accepted).toMatchObject({ status: 200, body: { delivered: true, duplicate: false } });
  });

  it('includes expiresAtMs when tokens have a TTL', async () => {
    const { server } = await setup({ tokenTtlMs: 60_000 });
    const answer = await call(server, 'POST', '/auth', { body: { secret: SECRET } });
    expect(answer.body).toEqual({ token: expect.stringMatching(/^ct_1_/), expiresAtMs: 70_000 });
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('answers 401 for a wrong secret', async () => {
    const { server, api } = await setup();
    expect(await call(server, 'POST', '/auth', { body: { secret: 'nope' } })).toMatchObject({ status: 401, body: { error: 'wrong secret' } });
    expect(api.stats()).toMatchObject({ authRefused: 1, currentGeneration: 0 });
  });

  it('answers 401 in refuse mode and 500 in error-500 mode', async () => {
    const { server, api } = await setup({ authMode: 'refuse' });
    expect(await call(server, 'POST', '/auth', { body: { secret: SECRET } })).toMatchObject({ status: 401, body: { error: 'secret refused (fault injected: authMode refuse)' } });
    api.authMode = 'error-500';
    expect(await call(server, 'POST', '/auth', { body: { secret: SECRET } })).toMatchObject({ status: 500, body: { error: 'internal error (fault injected: authMode error-500)' } });
    expect(api.stats()).toMatchObject({ authCalls: 2, authIssued: 0, authRefused: 1, authErrors: 1 });
  });

  it('drop-after-issue: issues the token, then destroys the socket without answering', async () => {
    const { server, api } = await setup({ authMode: 'drop-after-issue' });
    const failure = await fetch(`${server.url}/auth`, { method: 'POST', body: JSON.stringify({ secret: SECRET }) }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect(api.stats()).toMatchObject({ authIssued: 1, authDropped: 1, currentGeneration: 1 });
  });

  it.each([
    ['an empty body', '', 'body is empty; send JSON { "secret": string }'],
    ['invalid JSON', `{"secret": ${SECRET}`, 'body is not valid JSON; send { "secret": string }'],
    ['an array', '[1]', 'body must be a JSON object { "secret": string }'],
    ['an extra field', JSON.stringify({ secret: SECRET, user: 'bot' }), 'unexpected field(s) "user"; send { "secret": string }'],
    ['a numeric secret', JSON.stringify({ secret: 12 }), 'secret must be a non-empty string of at most 1024 characters'],
  ])('answers 400 for %s, without quoting the body', async (_label, raw, error) => {
    const { server, api } = await setup();
    const answer = await call(server, 'POST', '/auth', { raw });
    expect(answer).toMatchObject({ status: 400, body: { error } });
    expect(JSON.stringify(answer.body)).not.toContain(SECRET);
    expect(api.stats()).toMatchObject({ authMalformed: 1, currentGeneration: 0 });
  });
});

describe('fake chat server: POST /messages', () => {
  it('delivers, then marks a second delivery of the same id as duplicate', async () => {
    const { server, api } = await setup();
    const token = await auth(server);
    expect(await call(server, 'POST', '/messages', { bearer: token, body: { ...message('m-1'), inReplyTo: 'q-9' } })).toMatchObject({ status: 200, body: { delivered: true, duplicate: false } });
    expect(await call(server, 'POST', '/messages', { bearer: token, body: message('m-1') })).toMatchObject({ status: 200, body: { delivered: true, duplicate: true } });
    expect(api.deliveries('m-1')).toBe(2);
    expect(api.delivered()[0]).toMatchObject({ messageId: 'm-1', inReplyTo: 'q-9' });
  });

  it('answers 401 without a bearer, with a non-Bearer scheme, and for an expired token', async () => {
    const { server, api } = await setup();
    const token = await auth(server);
    expect(await call(server, 'POST', '/messages', { body: message('m-1') })).toMatchObject({ status: 401, body: { reason: 'missing' } });
    expect(await call(server, 'POST', '/messages', { headers: { authorization: `Basic ${token}` }, body: message('m-1') })).toMatchObject({ status: 401, body: { reason: 'missing' } });
    expect(await call(server, 'POST', '/messages', { headers: { authorization: `bearer ${token}` }, body: message('m-1') })).toMatchObject({ status: 200 });
    api.expireCurrent();
    expect(await call(server, 'POST', '/messages', { bearer: token, body: message('m-2') })).toMatchObject({ status: 401, body: { reason: 'expired' } });
    expect(api.stats()).toMatchObject({ rejections: 3, messagesAccepted: 1 });
  });

  it('answers 429 with Retry-After in whole seconds and retryAfterMs in the body', async () => {
    const { server, api } = await setup();
    const token = await auth(server);
    api.messagesRateLimit = { calls: 1, retryAfterMs: 1_500 };
    const limited = await call(server, 'POST', '/messages', { bearer: token, body: message('m-1') });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.body).toEqual({ error: 'rate limited', retryAfterMs: 1_500 });
    expect(await call(server, 'POST', '/messages', { bearer: token, body: message('m-1') })).toMatchObject({ status: 200 });
  });

  it.each([
    ['invalid JSON', '{"messageId":', 'body is not valid JSON; send { "messageId": string, "room": string, "text": string, "inReplyTo"?: string }'],
    ['a missing room', JSON.stringify({ messageId: 'm-1', text: 'hi' }), 'room must be a non-empty string of at most 128 characters'],
    ['an extra field', JSON.stringify({ ...message('m-1'), to: 'x' }), 'unexpected field(s) "to"; allowed: messageId, room, text, inReplyTo'],
  ])('answers 400 for %s', async (_label, raw, error) => {
    const { server, api } = await setup();
    const token = await auth(server);
    expect(await call(server, 'POST', '/messages', { bearer: token, raw })).toMatchObject({ status: 400, body: { error } });
    expect(api.stats()).toMatchObject({ messagesMalformed: 1, messagesAccepted: 0 });
  });
});

describe('fake chat server: limits and routing', () => {
  it(`answers 413 to a body over ${REQUEST_BODY_BYTES_MAX} bytes and stays usable`, async () => {
    const { server, api } = await setup();
    const token = await auth(server);
    const big = JSON.stringify({ ...message('m-1'), text: 'x'.repeat(REQUEST_BODY_BYTES_MAX) });
    expect(await call(server, 'POST', '/messages', { bearer: token, raw: big })).toMatchObject({ status: 413, body: { error: `request body exceeds ${REQUEST_BODY_BYTES_MAX} bytes; send less` } });
    expect(api.stats().messagesMalformed).toBe(0);
    expect(await call(server, 'POST', '/messages', { bearer: token, body: message('m-2') })).toMatchObject({ status: 200 });
  });

  it('answers 413 to a chunked body that grows past the bound', async () => {
    const { server } = await setup({}, { bodyBytesMax: 1_000 });
    const status = await new Promise<number>((resolve, reject) => {
      const outgoing = httpRequest(`${server.url}/auth`, { method: 'POST' }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      outgoing.on('error', reject);
      for (let index = 0; index < 5; index += 1) outgoing.write('x'.repeat(400));
      outgoing.end();
    });
    expect(status).toBe(413);
  });

  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    const { server } = await setup();
    const missing = await call(server, 'GET', '/nope');
    expect(missing.status).toBe(404);
    expect((missing.body as { error: string }).error).toMatch(/^no route \/nope; routes: \/auth, \/messages, \/stats/);
    const wrong = await call(server, 'GET', '/auth');
    expect(wrong).toMatchObject({ status: 405, body: { error: '/auth accepts POST, not GET' } });
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('GET /stats returns the model counters', async () => {
    const { server, api } = await setup();
    await auth(server);
    const answer = await call(server, 'GET', '/stats');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(api.stats());
    expect(answer.body).toMatchObject({ authCalls: 1, authIssued: 1, currentGeneration: 1 });
  });
});

describe('fake chat server: admin routes', () => {
  it('POST /admin/invalidate makes the fleet token stale', async () => {
    const { server } = await setup();
    const token = await auth(server);
    expect(await call(server, 'POST', '/admin/invalidate')).toMatchObject({ status: 200, body: { generation: 2 } });
    expect(await call(server, 'POST', '/messages', { bearer: token, body: message('m-1') })).toMatchObject({ status: 401, body: { reason: 'superseded' } });
  });

  it('POST /admin/expire expires the current token', async () => {
    const { server } = await setup();
    expect(await call(server, 'POST', '/admin/expire')).toMatchObject({ status: 200, body: { expired: false } });
    const token = await auth(server);
    expect(await call(server, 'POST', '/admin/expire')).toMatchObject({ status: 200, body: { expired: true } });
    expect(await call(server, 'POST', '/messages', { bearer: token, body: message('m-1') })).toMatchObject({ status: 401, body: { reason: 'expired' } });
  });

  it('POST /admin/auth-mode switches the mode and rejects unknown ones', async () => {
    const { server, api } = await setup();
    expect(await call(server, 'POST', '/admin/auth-mode', { body: { mode: 'error-500' } })).toMatchObject({ status: 200, body: { mode: 'error-500' } });
    expect(api.authMode).toBe('error-500');
    expect(await call(server, 'POST', '/admin/auth-mode', { body: { mode: 'chaos' } })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/mode must be one of ok, refuse, error-500, drop-after-issue/) } });
    expect(await call(server, 'POST', '/admin/auth-mode', { raw: 'nope' })).toMatchObject({ status: 400 });
    expect(api.authMode).toBe('error-500');
  });

  it('POST /admin/rate-limit sets and lifts the limit', async () => {
    const { server, api } = await setup();
    expect(await call(server, 'POST', '/admin/rate-limit', { body: { calls: 3, retryAfterMs: 200 } })).toMatchObject({ status: 200, body: { messagesRateLimit: { calls: 3, retryAfterMs: 200 } } });
    expect(api.messagesRateLimit).toEqual({ calls: 3, retryAfterMs: 200 });
    expect(await call(server, 'POST', '/admin/rate-limit', { body: { calls: 0 } })).toMatchObject({ status: 200, body: { messagesRateLimit: null } });
    expect(api.messagesRateLimit).toBeUndefined();
    expect(await call(server, 'POST', '/admin/rate-limit', { body: { calls: 'many', retryAfterMs: 1 } })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/calls must be an integer/) } });
  });

  it('POST /admin/latency changes latency and validates it', async () => {
    const { server } = await setup();
    expect(await call(server, 'POST', '/admin/latency', { body: { authLatencyMs: 5 } })).toMatchObject({ status: 200, body: { authLatencyMs: 5, messageLatencyMs: 0 } });
    expect(await call(server, 'POST', '/admin/latency', { body: { messageLatencyMs: -1 } })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/messageLatencyMs must be an integer/) } });
  });

  it('GET /admin/log shows fingerprints, never tokens or the secret', async () => {
    const { server } = await setup();
    const first = await auth(server);
    const second = await auth(server);
    await call(server, 'POST', '/messages', { bearer: first, body: message('m-1') });
    const answer = await fetch(`${server.url}/admin/log`);
    const text = await answer.text();
    expect(text).not.toContain(first);
    expect(text).not.toContain(second);
    expect(text).not.toContain(SECRET);
    const log = JSON.parse(text) as { entries: Array<Record<string, unknown>>; entriesDropped: number };
    expect(log.entriesDropped).toBe(0);
    expect(log.entries.map((entry) => [entry['kind'], entry['outcome'], entry['tokenFingerprint']])).toEqual([
      ['auth', 'issued', fingerprint(first)],
      ['auth', 'issued', fingerprint(second)],
      ['message', 'rejected', fingerprint(first)],
    ]);
  });
});

describe('fake chat server: latency and shutdown', () => {
  it('auth latency happens before the token is issued', async () => {
    const { sleep, waits } = gatedSleep();
    const { server, api } = await setup({}, { sleep, authLatencyMs: 700 });
    const pending = call(server, 'POST', '/auth', { body: { secret: SECRET } });
    await vi.waitFor(() => expect(waits.length).toBe(1));
    expect(waits[0]?.ms).toBe(700);
    expect(api.stats()).toMatchObject({ authCalls: 0, currentGeneration: 0 });
    waits[0]?.release();
    expect((await pending).status).toBe(200);
    expect(api.stats()).toMatchObject({ authCalls: 1, currentGeneration: 1 });
  });

  it('message latency delays the answer (real timer)', async () => {
    const { server, api } = await setup({}, { messageLatencyMs: 120 });
    const token = await auth(server);
    const startedMs = performance.now();
    expect(await call(server, 'POST', '/messages', { bearer: token, body: message('m-1') })).toMatchObject({ status: 200 });
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(110);
    expect(api.deliveries('m-1')).toBe(1);
  });

  it('setLatency applies to later requests', async () => {
    const { sleep, waits } = gatedSleep();
    const { server } = await setup({}, { sleep });
    await auth(server);
    expect(waits.length).toBe(0);
    server.setLatency({ authLatencyMs: 30 });
    const pending = auth(server);
    await vi.waitFor(() => expect(waits.length).toBe(1));
    expect(waits[0]?.ms).toBe(30);
    waits[0]?.release();
    await pending;
    expect(() => server.setLatency({ authLatencyMs: -5 })).toThrow(InvalidOptionsError);
  });

  it('close() ends keep-alive connections and pending latency promptly', async () => {
    const { sleep, waits } = gatedSleep();
    const { server, api } = await setup({}, { sleep });
    await auth(server); // leaves a keep-alive connection open
    server.setLatency({ authLatencyMs: 60_000 });
    const pending = fetch(`${server.url}/auth`, { method: 'POST', body: JSON.stringify({ secret: SECRET }) }).then(
      () => 'answered',
      () => 'failed',
    );
    await vi.waitFor(() => expect(waits.length).toBe(1));
    const startedMs = performance.now();
    await server.close();
    expect(performance.now() - startedMs).toBeLessThan(1_000);
    expect(await pending).toBe('failed');
    expect(api.stats().authCalls).toBe(1);
    await server.close(); // idempotent
  });

  it('validates its options', async () => {
    const api = new FakeChatApi({ secret: SECRET, clock: { now: () => 0 } });
    await expect(startFakeChatServer({ api: {} as never })).rejects.toThrow(/api a FakeChatApi instance/);
    await expect(startFakeChatServer({ api, port: 70_000 })).rejects.toThrow(/port must be an integer from 0 to 65535/);
    await expect(startFakeChatServer({ api, authLatencyMs: 1.5 })).rejects.toThrow(/authLatencyMs must be an integer/);
    await expect(startFakeChatServer({ api, bodyBytesMax: 0 })).rejects.toThrow(/bodyBytesMax must be a positive integer/);
  });

  it('listens on 127.0.0.1 on a free port by default', async () => {
    const { server } = await setup();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });
});
