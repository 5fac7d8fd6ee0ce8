import { describe, expect, it } from 'vitest';
import {
  AUTH_LOG_ENTRIES_MAX,
  DEFAULT_TOKEN_SEED,
  FakeChatApi,
  MalformedRequest,
  TEXT_CHARS_MAX,
  describeBadMessage,
  isAuthMode,
} from '../../src/fake/chat-api.js';
import type { AuthResult, FakeChatApiOptions } from '../../src/fake/chat-api.js';
import { InvalidOptionsError } from '../../src/runtime/errors.js';
import { fingerprint } from '../../src/runtime/fingerprint.js';

const SECRET = 'sekret-api-7f3a';
const message = (messageId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ messageId, room: 'general', text: `hello ${messageId}`, ...extra });

/** A FakeChatApi with a hand-driven clock. */
function setup(options: Partial<FakeChatApiOptions> = {}) {
  const time = { nowMs: 1_000 };
  const api = new FakeChatApi({ secret: SECRET, clock: { now: () => time.nowMs }, ...options });
  return { api, time };
}

function tokenOf(result: AuthResult): string {
  if (result.status !== 200) throw new Error(`expected 200, got ${String(result.status)}`);
  return result.token;
}

describe('FakeChatApi: the one-token rule', () => {
  it('a second auth kills the first token; only the newest works', () => {
    const { api } = setup();
    const first = tokenOf(api.auth(SECRET));
    expect(api.postMessage(first, message('m-1'))).toEqual({ status: 200, duplicate: false });
    const second = tokenOf(api.auth(SECRET));
    expect(second).not.toBe(first);
    expect(api.postMessage(first, message('m-2'))).toEqual({ status: 401, reason: 'superseded' });
    expect(api.postMessage(second, message('m-2'))).toEqual({ status: 200, duplicate: false });
    expect(api.stats()).toEqual({
      authCalls: 2,
      authIssued: 2,
      authRefused: 0,
      authErrors: 0,
      authDropped: 0,
      authMalformed: 0,
      messagesAccepted: 2,
      duplicates: 0,
      rejections: 1,
      rateLimited: 0,
      messagesMalformed: 0,
      invalidations: 0,
      expirations: 0,
      currentGeneration: 2,
      logEntriesDropped: 0,
      deliveredDropped: 0,
      issuedTokensDropped: 0,
    });
  });

  it('answers 200 with the generation and no expiresAtMs when tokens never expire', () => {
    const { api } = setup();
    const result = api.auth(SECRET);
    expect(result).toEqual({ status: 200, token: expect.any(String), generation: 1 });
    expect('expiresAtMs' in result).toBe(false);
  });

  it('tells unknown, missing and superseded bearers apart', () => {
    const { api } = setup();
    const first = tokenOf(api.auth(SECRET));
    tokenOf(api.auth(SECRET));
    expect(api.postMessage(undefined, message('m-1'))).toEqual({ status: 401, reason: 'missing' });
    expect(api.postMessage('', message('m-1'))).toEqual({ status: 401, reason: 'missing' });
    expect(api.postMessage('never-issued', message('m-1'))).toEqual({ status: 401, reason: 'unknown' });
    expect(api.postMessage(first, message('m-1'))).toEqual({ status: 401, reason: 'superseded' });
    expect(api.stats().rejections).toBe(4);
    expect(api.deliveries('m-1')).toBe(0);
  });

  it('rejects every bearer before the first auth', () => {
    const { api } = setup();
    expect(api.postMessage('anything', message('m-1'))).toEqual({ status: 401, reason: 'unknown' });
    expect(api.current()).toBeUndefined();
    expect(api.stats().currentGeneration).toBe(0);
  });

  it('a wrong secret gets 401 and leaves the current token working', () => {
    const { api } = setup();
    const token = tokenOf(api.auth(SECRET));
    expect(api.auth('not-the-secret')).toEqual({ status: 401, reason: 'wrong secret' });
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 200, duplicate: false });
    expect(api.stats()).toMatchObject({ authCalls: 2, authIssued: 1, authRefused: 1, currentGeneration: 1 });
  });
});

describe('FakeChatApi: token generation', () => {
  it('is reproducible for a seed and different across seeds', () => {
    const tokens = (seed?: number) => {
      const { api } = setup(seed === undefined ? {} : { seed });
      return [1, 2, 3].map(() => tokenOf(api.auth(SECRET)));
    };
    expect(tokens()).toEqual(tokens(DEFAULT_TOKEN_SEED));
    expect(tokens(7)).toEqual(tokens(7));
    expect(tokens(7)).not.toEqual(tokens(8));
    expect(tokens()[0]).toMatch(/^ct_1_[0-9a-f]{32}$/);
  });

  it('issues unique tokens across many generations', () => {
    const { api } = setup();
    const seen = new Set<string>();
    for (let index = 0; index < 500; index += 1) seen.add(tokenOf(api.auth(SECRET)));
    expect(seen.size).toBe(500);
    expect(api.stats().currentGeneration).toBe(500);
  });

  it('uses an injected generator and refuses a repeated or unprintable token', () => {
    const repeating = setup({ generateToken: () => 'same-token' }).api;
    expect(tokenOf(repeating.auth(SECRET))).toBe('same-token');
    expect(() => repeating.auth(SECRET)).toThrow(InvalidOptionsError);
    expect(() => repeating.auth(SECRET)).toThrow(/already issued \(fp:[0-9a-f]{10}\)/);
    expect(() => repeating.auth(SECRET)).not.toThrow(/same-token/);

    const spaced = setup({ generateToken: (generation) => `token ${generation}` }).api;
    expect(() => spaced.auth(SECRET)).toThrow(/printable ASCII without spaces/);
  });
});

describe('FakeChatApi: expiry', () => {
  it('expires a token exactly tokenTtlMs after issue (injected clock)', () => {
    const { api, time } = setup({ tokenTtlMs: 500 });
    const result = api.auth(SECRET);
    expect(result).toEqual({ status: 200, token: expect.any(String), generation: 1, expiresAtMs: 1_500 });
    const token = tokenOf(result);
    time.nowMs = 1_499;
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 200, duplicate: false });
    time.nowMs = 1_500;
    expect(api.postMessage(token, message('m-2'))).toEqual({ status: 401, reason: 'expired' });
    expect(api.current()).toEqual({ generation: 1, tokenFingerprint: fingerprint(token), expiresAtMs: 1_500, expired: true });
    const fresh = tokenOf(api.auth(SECRET));
    expect(api.postMessage(fresh, message('m-2'))).toEqual({ status: 200, duplicate: false });
  });

  it('never expires without a TTL, however late', () => {
    const { api, time } = setup();
    const token = tokenOf(api.auth(SECRET));
    time.nowMs = Number.MAX_SAFE_INTEGER;
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 200, duplicate: false });
  });

  it('expireCurrent() expires the current token now, and is a no-op without one', () => {
    const { api, time } = setup();
    expect(api.expireCurrent()).toBe(false);
    expect(api.stats().expirations).toBe(0);
    const token = tokenOf(api.auth(SECRET));
    time.nowMs = 2_000;
    expect(api.expireCurrent()).toBe(true);
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 401, reason: 'expired' });
    expect(api.current()).toEqual({ generation: 1, tokenFingerprint: fingerprint(token), expiresAtMs: 2_000, expired: true });
    expect(api.stats()).toMatchObject({ expirations: 1, currentGeneration: 1, rejections: 1 });
  });

  it('expireCurrent() never extends a TTL that ends earlier', () => {
    const { api, time } = setup({ tokenTtlMs: 100 });
    tokenOf(api.auth(SECRET));
    time.nowMs = 5_000;
    api.expireCurrent();
    expect(api.current()?.expiresAtMs).toBe(1_100);
  });
});

describe('FakeChatApi: invalidate (an outside POST /auth)', () => {
  it('makes a token nobody knows current', () => {
    const { api } = setup();
    const token = tokenOf(api.auth(SECRET));
    expect(api.invalidate()).toEqual({ generation: 2 });
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 401, reason: 'superseded' });
    expect(api.current()?.generation).toBe(2);
    expect(api.current()?.tokenFingerprint).not.toBe(fingerprint(token));
    expect(api.stats()).toMatchObject({ authCalls: 1, authIssued: 1, invalidations: 1, currentGeneration: 2 });
    const next = tokenOf(api.auth(SECRET));
    expect(api.postMessage(next, message('m-1'))).toEqual({ status: 200, duplicate: false });
  });

  it('works before any auth', () => {
    const { api } = setup();
    expect(api.invalidate()).toEqual({ generation: 1 });
    expect(api.stats().currentGeneration).toBe(1);
  });
});

describe('FakeChatApi: dedupe and exactly-once tracking', () => {
  it('accepts a second delivery of the same id but marks and counts it', () => {
    const { api, time } = setup();
    const token = tokenOf(api.auth(SECRET));
    expect(api.postMessage(token, message('m-1', { inReplyTo: 'q-1' }))).toEqual({ status: 200, duplicate: false });
    time.nowMs = 1_200;
    expect(api.postMessage(token, message('m-1', { inReplyTo: 'q-1' }))).toEqual({ status: 200, duplicate: true });
    expect(api.postMessage(token, message('m-2'))).toEqual({ status: 200, duplicate: false });
    expect(api.deliveries('m-1')).toBe(2);
    expect(api.deliveries('m-2')).toBe(1);
    expect(api.deliveries('m-3')).toBe(0);
    expect(api.delivered()).toEqual([
      { messageId: 'm-1', room: 'general', text: 'hello m-1', inReplyTo: 'q-1', firstDeliveredAtMs: 1_000, generation: 1, deliveries: 2 },
      { messageId: 'm-2', room: 'general', text: 'hello m-2', firstDeliveredAtMs: 1_200, generation: 1, deliveries: 1 },
    ]);
    expect(api.stats()).toMatchObject({ messagesAccepted: 3, duplicates: 1 });
  });

  it('dedupes across token generations', () => {
    const { api } = setup();
    const first = tokenOf(api.auth(SECRET));
    api.postMessage(first, message('m-1'));
    const second = tokenOf(api.auth(SECRET));
    expect(api.postMessage(second, message('m-1'))).toEqual({ status: 200, duplicate: true });
    expect(api.delivered()[0]?.generation).toBe(1);
  });
});

describe('FakeChatApi: auth modes', () => {
  it('refuse: even the right secret gets 401 and nothing is issued', () => {
    const { api } = setup({ authMode: 'refuse' });
    expect(api.auth(SECRET)).toEqual({ status: 401, reason: 'secret refused (fault injected: authMode refuse)' });
    expect(api.stats()).toMatchObject({ authCalls: 1, authRefused: 1, authIssued: 0, currentGeneration: 0 });
  });

  it('refuse keeps the current token valid', () => {
    const { api } = setup();
    const token = tokenOf(api.auth(SECRET));
    api.authMode = 'refuse';
    expect(api.auth(SECRET).status).toBe(401);
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 200, duplicate: false });
  });

  it('error-500: answers 500 and issues nothing', () => {
    const { api } = setup();
    const token = tokenOf(api.auth(SECRET));
    api.authMode = 'error-500';
    expect(api.auth(SECRET)).toEqual({ status: 500, reason: 'internal error (fault injected: authMode error-500)' });
    expect(api.auth('wrong')).toEqual({ status: 500, reason: 'internal error (fault injected: authMode error-500)' });
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 200, duplicate: false });
    expect(api.stats()).toMatchObject({ authCalls: 3, authIssued: 1, authErrors: 2, currentGeneration: 1 });
  });

  it('drop-after-issue: issues and invalidates, but the caller gets no token', () => {
    const { api } = setup();
    const token = tokenOf(api.auth(SECRET));
    api.authMode = 'drop-after-issue';
    const result = api.auth(SECRET);
    expect(result).toEqual({ status: 'dropped', generation: 2 });
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 401, reason: 'superseded' });
    expect(api.stats()).toMatchObject({ authCalls: 2, authIssued: 2, authDropped: 1, authErrors: 1, currentGeneration: 2 });
  });

  it('drop-after-issue still checks the secret', () => {
    const { api } = setup({ authMode: 'drop-after-issue' });
    expect(api.auth('wrong')).toEqual({ status: 401, reason: 'wrong secret' });
    expect(api.stats().currentGeneration).toBe(0);
  });

  it('ok again after a fault', () => {
    const { api } = setup({ authMode: 'error-500' });
    api.authMode = 'ok';
    expect(api.authMode).toBe('ok');
    expect(api.auth(SECRET).status).toBe(200);
  });

  it('rejects an unknown mode, at construction and at run time', () => {
    expect(() => setup({ authMode: 'maybe' as never })).toThrow(/authMode must be one of ok, refuse, error-500, drop-after-issue; got "maybe"/);
    const { api } = setup();
    expect(() => {
      api.authMode = 'flaky' as never;
    }).toThrow(InvalidOptionsError);
    expect(api.authMode).toBe('ok');
    expect(isAuthMode('drop-after-issue')).toBe(true);
    expect(isAuthMode('OK')).toBe(false);
  });
});

describe('FakeChatApi: rate limit knob', () => {
  it('answers 429 to the next N message calls, valid token or not, then recovers', () => {
    const { api } = setup();
    const token = tokenOf(api.auth(SECRET));
    api.messagesRateLimit = { calls: 2, retryAfterMs: 1_500 };
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 429, retryAfterMs: 1_500 });
    expect(api.messagesRateLimit).toEqual({ calls: 1, retryAfterMs: 1_500 });
    expect(api.postMessage('bogus', message('m-1'))).toEqual({ status: 429, retryAfterMs: 1_500 });
    expect(api.messagesRateLimit).toBeUndefined();
    expect(api.postMessage(token, message('m-1'))).toEqual({ status: 200, duplicate: false });
    expect(api.stats()).toMatchObject({ rateLimited: 2, rejections: 0, messagesAccepted: 1 });
  });

  it('can be lifted and validates its values', () => {
    const { api } = setup();
    api.messagesRateLimit = { calls: 5, retryAfterMs: 10 };
    api.messagesRateLimit = undefined;
    expect(api.messagesRateLimit).toBeUndefined();
    expect(() => {
      api.messagesRateLimit = { calls: 0, retryAfterMs: 10 };
    }).toThrow(/messagesRateLimit.calls must be an integer from 1/);
    expect(() => {
      api.messagesRateLimit = { calls: 1, retryAfterMs: 1.5 };
    }).toThrow(/retryAfterMs must be a positive integer/);
  });
});

describe('FakeChatApi: strict validation', () => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ['not an object', 'hello', /must be a JSON object/],
    ['null', null, /must be a JSON object/],
    ['an array', [1], /must be a JSON object/],
    ['an unknown field', { ...message('m-1'), priority: 'high' }, /unexpected field\(s\) "priority"/],
    ['no messageId', { room: 'r', text: 't' }, /messageId must be/],
    ['an empty messageId', message(''), /messageId must be/],
    ['a messageId with a space', message('m 1'), /messageId must be/],
    ['a messageId too long', message('m'.repeat(129)), /messageId must be .* at most 128/],
    ['a numeric room', message('m-1', { room: 7 }), /room must be a non-empty string/],
    ['an empty room', message('m-1', { room: '' }), /room must be a non-empty string/],
    ['an empty text', message('m-1', { text: '' }), /text must be a non-empty string/],
    ['a text too long', message('m-1', { text: 'x'.repeat(TEXT_CHARS_MAX + 1) }), /text must be .* at most 4000/],
    ['a null inReplyTo', message('m-1', { inReplyTo: null }), /inReplyTo must be/],
    ['an undefined inReplyTo', message('m-1', { inReplyTo: undefined }), /inReplyTo must be/],
  ];

  it.each(cases)('a message with %s is a 400 and is not delivered', (_label, body, reason) => {
    const { api } = setup();
    const token = tokenOf(api.auth(SECRET));
    const result = api.postMessage(token, body);
    expect(result.status).toBe(400);
    expect(result).toEqual({ status: 400, reason: expect.stringMatching(reason) });
    expect(api.stats()).toMatchObject({ messagesMalformed: 1, messagesAccepted: 0 });
    expect(api.delivered()).toEqual([]);
  });

  it('accepts a text of exactly the maximum length', () => {
    expect(describeBadMessage(message('m-1', { text: 'x'.repeat(TEXT_CHARS_MAX) }))).toBeUndefined();
  });

  it('checks the bearer before the body', () => {
    const { api } = setup();
    expect(api.postMessage('bogus', 'not json')).toEqual({ status: 401, reason: 'unknown' });
  });

  it('passes a MalformedRequest reason through', () => {
    const { api } = setup();
    const token = tokenOf(api.auth(SECRET));
    expect(api.postMessage(token, new MalformedRequest('body is not valid JSON'))).toEqual({ status: 400, reason: 'body is not valid JSON' });
    expect(api.auth(new MalformedRequest('body is empty'))).toEqual({ status: 400, reason: 'body is empty' });
  });

  it.each([[undefined], [42], [''], ['x'.repeat(1_025)]])('auth(%j) is a 400 that issues nothing', (secret) => {
    const { api } = setup();
    expect(api.auth(secret)).toEqual({ status: 400, reason: 'secret must be a non-empty string of at most 1024 characters' });
    expect(api.stats()).toMatchObject({ authCalls: 1, authMalformed: 1, authIssued: 0, currentGeneration: 0 });
  });

  it('validates its options', () => {
    const clock = { now: () => 0 };
    expect(() => new FakeChatApi({ secret: '', clock })).toThrow(/secret must be a non-empty string/);
    expect(() => new FakeChatApi({ secret: SECRET, clock: {} as never })).toThrow(/clock must be an object with a now\(\) method/);
    expect(() => new FakeChatApi({ secret: SECRET, clock, tokenTtlMs: 0 })).toThrow(/tokenTtlMs must be a positive integer.*got 0/);
    expect(() => new FakeChatApi({ secret: SECRET, clock, tokenTtlMs: 1.5 })).toThrow(InvalidOptionsError);
    expect(() => new FakeChatApi({ secret: SECRET, clock, seed: Number.NaN })).toThrow(/seed must be an integer/);
    expect(() => new FakeChatApi({ secret: SECRET, clock, generateToken: 'x' as never })).toThrow(/generateToken must be a function/);
    expect(() => new FakeChatApi(undefined as never)).toThrow(/needs an options object/);
  });

  it('never echoes the secret in an option error', () => {
    const long = `${SECRET}${'x'.repeat(2_000)}`;
    expect(() => new FakeChatApi({ secret: long, clock: { now: () => 0 } })).toThrow(/at most 1024 characters\.$/);
  });

  it('refuses a clock that returns a non-number', () => {
    const api = new FakeChatApi({ secret: SECRET, clock: { now: () => Number.NaN } });
    expect(() => api.auth(SECRET)).toThrow(/clock.now\(\) returned NaN/);
  });
});

describe('FakeChatApi: history log', () => {
  it('records auth calls, faults and message outcomes with timestamps and fingerprints only', () => {
    const { api, time } = setup({ tokenTtlMs: 10_000 });
    const first = tokenOf(api.auth(SECRET));
    time.nowMs = 1_100;
    api.postMessage(first, message('m-1'));
    time.nowMs = 1_200;
    api.invalidate();
    api.postMessage(first, message('m-2'));
    api.authMode = 'refuse';
    api.auth(SECRET);
    api.authMode = 'ok';
    api.messagesRateLimit = { calls: 1, retryAfterMs: 50 };
    api.postMessage(first, message('m-3'));
    api.expireCurrent();
    const { entries, entriesDropped } = api.authLog;
    expect(entriesDropped).toBe(0);
    expect(entries).toEqual([
      { seq: 1, atMs: 1_000, kind: 'auth', outcome: 'issued', generation: 1, tokenFingerprint: fingerprint(first), expiresAtMs: 11_000 },
      { seq: 2, atMs: 1_100, kind: 'message', outcome: 'accepted', messageId: 'm-1', room: 'general', generation: 1, tokenFingerprint: fingerprint(first) },
      { seq: 3, atMs: 1_200, kind: 'invalidate', generation: 2, tokenFingerprint: expect.stringMatching(/^fp:[0-9a-f]{10}$/) },
      { seq: 4, atMs: 1_200, kind: 'message', outcome: 'rejected', reason: 'superseded', tokenFingerprint: fingerprint(first), presentedGeneration: 1 },
      { seq: 5, atMs: 1_200, kind: 'auth-mode', mode: 'refuse' },
      { seq: 6, atMs: 1_200, kind: 'auth', outcome: 'refused', reason: 'secret refused (fault injected: authMode refuse)' },
      { seq: 7, atMs: 1_200, kind: 'auth-mode', mode: 'ok' },
      { seq: 8, atMs: 1_200, kind: 'rate-limit', calls: 1, retryAfterMs: 50 },
      { seq: 9, atMs: 1_200, kind: 'message', outcome: 'rate-limited', retryAfterMs: 50 },
      { seq: 10, atMs: 1_200, kind: 'expire', generation: 2, tokenFingerprint: entries[2]?.kind === 'invalidate' ? entries[2].tokenFingerprint : 'missing' },
    ]);
    const text = JSON.stringify(api.authLog) + JSON.stringify(api.stats()) + JSON.stringify(api.current());
    expect(text).not.toContain(first);
    expect(text).not.toContain(SECRET);
  });

  it('keeps the newest entries up to the cap and counts the dropped ones', () => {
    const { api } = setup();
    const extra = 5;
    for (let index = 0; index < AUTH_LOG_ENTRIES_MAX + extra; index += 1) api.postMessage(undefined, message('m-1'));
    const { entries, entriesDropped } = api.authLog;
    expect(entries.length).toBe(AUTH_LOG_ENTRIES_MAX);
    expect(entriesDropped).toBe(extra);
    expect(api.stats().logEntriesDropped).toBe(extra);
    expect(entries[0]?.seq).toBe(extra + 1);
    expect(entries.at(-1)?.seq).toBe(AUTH_LOG_ENTRIES_MAX + extra);
    expect(entries.every((entry, index) => entry.seq === extra + 1 + index)).toBe(true);
  });

  it('returns a copy that later calls do not change', () => {
    const { api } = setup();
    const before = api.authLog;
    api.auth(SECRET);
    expect(before.entries).toEqual([]);
    expect(api.authLog.entries.length).toBe(1);
  });
});
