import { describe, expect, it } from 'vitest';
import { toHttp } from '../../src/demo/endpoint.js';
import { toFunctionUrlEvent } from '../../src/demo/payload.js';
import { INCIDENT_JITTER_SHARE, planIncidents, planMessages } from '../../src/demo/plan.js';
import { createRng } from '../../src/demo/rng.js';

describe('createRng', () => {
  it('repeats for a seed and differs across seeds and labels', () => {
    const a = Array.from({ length: 5 }, ((rng) => () => rng.next())(createRng(7)));
    const b = Array.from({ length: 5 }, ((rng) => () => rng.next())(createRng(7)));
    const c = Array.from({ length: 5 }, ((rng) => () => rng.next())(createRng(8)));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(createRng(7).fork('x').next()).not.toBe(createRng(7).fork('y').next());
    for (const value of a) expect(value >= 0 && value < 1).toBe(true);
  });
});

describe('planMessages', () => {
  it('is the same for the same seed: ids, texts and sorted arrival offsets within the spread', () => {
    const first = planMessages(createRng(7).fork('messages'), 120, 10_000);
    const again = planMessages(createRng(7).fork('messages'), 120, 10_000);
    expect(first).toEqual(again);
    expect(first).toHaveLength(120);
    expect(first[0]?.messageId).toBe('msg-00001');
    expect(new Set(first.map((message) => message.messageId)).size).toBe(120);
    const offsets = first.map((message) => message.offsetMs);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...offsets)).toBeLessThanOrEqual(10_000);
    expect(planMessages(createRng(8).fork('messages'), 120, 10_000)).not.toEqual(first);
  });
});

describe('planIncidents', () => {
  it('spreads incidents evenly with bounded jitter and alternates kinds', () => {
    const incidents = planIncidents(createRng(7).fork('incidents'), 6, 60_000);
    expect(incidents.map((incident) => incident.kind)).toEqual(['invalidate', 'expire', 'invalidate', 'expire', 'invalidate', 'expire']);
    incidents.forEach((incident, index) => {
      const center = (index + 0.5) * 10_000;
      expect(Math.abs(incident.offsetMs - center)).toBeLessThanOrEqual(INCIDENT_JITTER_SHARE * 10_000 + 1);
    });
    expect(planIncidents(createRng(7).fork('incidents'), 0, 60_000)).toEqual([]);
  });
});

describe('toFunctionUrlEvent', () => {
  it('builds a payload 2.0 event with lower-case, comma-joined headers', () => {
    const event = toFunctionUrlEvent({
      method: 'post',
      url: '/webhook?a=1&b=2',
      headers: { 'Content-Type': 'application/json', 'x-multi': ['1', '2'], 'user-agent': 'chat/1' },
      body: '{"x":1}',
      sourceIp: '127.0.0.1',
      host: '127.0.0.1:9000',
      requestId: 'fu-1',
      atMs: 0,
    });
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/webhook',
      rawQueryString: 'a=1&b=2',
      headers: { 'content-type': 'application/json', 'x-multi': '1,2' },
      requestContext: { http: { method: 'POST', path: '/webhook', sourceIp: '127.0.0.1', userAgent: 'chat/1' }, requestId: 'fu-1', timeEpoch: 0, time: '1970-01-01T00:00:00.000Z' },
      body: '{"x":1}',
      isBase64Encoded: false,
    });
    expect('body' in toFunctionUrlEvent({ method: 'GET', url: '/', headers: {}, body: '', sourceIp: '', host: 'h', requestId: 'r', atMs: 0 })).toBe(false);
  });
});

describe('toHttp', () => {
  it('answers like a Function URL when the pool could not run the handler', () => {
    expect(toHttp({ kind: 'throttled', reason: 'queue-full' })).toMatchObject({ statusCode: 429, headers: { 'retry-after': '1' } });
    expect(toHttp({ kind: 'timeout', lane: 'i01' }).statusCode).toBe(504);
    expect(toHttp({ kind: 'crashed', lane: 'i01', message: 'x' }).statusCode).toBe(502);
    expect(toHttp({ kind: 'start-failed', lane: 'i01', message: 'x' }).statusCode).toBe(502);
    expect(toHttp({ kind: 'closed' }).statusCode).toBe(503);
    const result = { statusCode: 200, headers: { a: 'b' }, body: '{}' };
    expect(toHttp({ kind: 'ok', lane: 'i01', result, coldStart: false, durationMs: 1 })).toBe(result);
  });
});
