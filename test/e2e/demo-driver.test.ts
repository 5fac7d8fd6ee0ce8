import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffMs, deliverAll, isRetryable, parseRetryAfterMs } from '../../src/demo/driver.js';
import type { DeliveryPolicy } from '../../src/demo/driver.js';
import type { PlannedMessage } from '../../src/demo/plan.js';
import { createRng } from '../../src/demo/rng.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  })));
});

const policy: DeliveryPolicy = { concurrencyMax: 4, attemptsMax: 3, attemptTimeoutMs: 300, backoffBaseMs: 10, backoffMaxMs: 40, retryAfterMsMax: 1_000 };

/** Answers per message id: a list of behaviours, one per attempt (the last repeats). */
async function chatService(script: Record<string, Array<'sent' | 'duplicate' | 'not-sent' | '500' | '400' | 'hang'>>) {
  const attempts = new Map<string, number[]>();
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { messageId } = JSON.parse(body) as { messageId: string };
      const seen = attempts.get(messageId) ?? [];
      seen.push(Date.now());
      attempts.set(messageId, seen);
      const steps = script[messageId] ?? ['sent'];
      const step = steps[Math.min(seen.length, steps.length) - 1];
      const json = (status: number, payload: object, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(payload));
      };
      if (step === 'sent') json(200, { status: 'sent', replyId: `r-${messageId}`, duplicate: false });
      else if (step === 'duplicate') json(200, { status: 'sent', replyId: `r-${messageId}`, duplicate: true });
      else if (step === 'not-sent') json(503, { status: 'not-sent', code: 'TOKEN_UNAVAILABLE', reason: 'deadline' }, { 'retry-after': '1' });
      else if (step === '500') json(500, { status: 'not-sent' });
      else if (step === '400') json(400, { error: 'bad-request' });
      // 'hang': never answer
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`, attempts };
}

function message(id: string, offsetMs = 0): PlannedMessage {
  return { messageId: id, room: '#general', user: 'ada', text: 'hi', offsetMs };
}

describe('deliverAll', () => {
  it('redelivers a not-sent message after Retry-After, and gives up after attemptsMax', async () => {
    const service = await chatService({ late: ['not-sent', 'sent'], broken: ['500'], bad: ['400'], slow: ['hang', 'duplicate'] });
    const driver = deliverAll({
      url: service.url,
      messages: [message('ok'), message('late'), message('broken'), message('bad'), message('slow', 20)],
      startAtMs: Date.now(),
      policy,
      rng: createRng(1),
      signal: new AbortController().signal,
    });
    const records = await driver.done;
    const byId = Object.fromEntries(records.map((record) => [record.messageId, record]));
    expect(byId['ok']).toMatchObject({ outcome: 'delivered', attempts: 1, results: [200], duplicate: false });
    expect(byId['late']).toMatchObject({ outcome: 'delivered', attempts: 2, results: [503, 200], notSent: 1 });
    const [first, second] = service.attempts.get('late') ?? [];
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(950);
    expect(byId['broken']).toMatchObject({ outcome: 'failed', attempts: 3, results: [500, 500, 500] });
    expect(byId['bad']).toMatchObject({ outcome: 'refused', attempts: 1, results: [400] });
    expect(byId['slow']).toMatchObject({ outcome: 'delivered', attempts: 2, results: ['timeout', 200], duplicate: true });
    expect(driver.progress()).toMatchObject({ started: 5, delivered: 3, failed: 2, inFlight: 0 });
  });

  it('marks messages not yet started as failed when the run is aborted', async () => {
    const service = await chatService({});
    const abort = new AbortController();
    const driver = deliverAll({ url: service.url, messages: [message('now'), message('later', 60_000)], startAtMs: Date.now(), policy, rng: createRng(1), signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    const records = await driver.done;
    expect(records.map((record) => [record.messageId, record.outcome, record.attempts])).toEqual([
      ['now', 'delivered', 1],
      ['later', 'failed', 0],
    ]);
  });
});

describe('driver helpers', () => {
  it('retries throttling and server errors only', () => {
    expect([200, 400, 404, 429, 500, 502, 503, 504].map(isRetryable)).toEqual([false, false, false, true, true, true, true, true]);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfterMs('2', 0)).toBe(2_000);
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfterMs(null, 0)).toBeUndefined();
    expect(parseRetryAfterMs('soon', 0)).toBeUndefined();
  });

  it('backs off exponentially with ±25% jitter, capped', () => {
    const rng = createRng(5);
    const base: DeliveryPolicy = { ...policy, backoffBaseMs: 100, backoffMaxMs: 400 };
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const raw = Math.min(400, 100 * 2 ** (attempt - 1));
      const waited = backoffMs(attempt, base, rng);
      expect(waited).toBeGreaterThanOrEqual(Math.floor(raw * 0.75));
      expect(waited).toBeLessThanOrEqual(Math.ceil(raw * 1.25));
    }
  });
});
