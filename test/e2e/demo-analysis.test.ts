import { describe, expect, it } from 'vitest';
import { analyzeWindows, byTime, countTotals, settleBootstrap, settleWindow } from '../../src/demo/analysis.js';
import type { LaneEvent } from '../../src/demo/analysis.js';
import type { BatonEvent } from '../../src/runtime/events.js';

type Token = 'token-used' | 'token-rejected' | 'token-published' | 'token-adopted';

function token(lane: string, type: Token, atMs: number, generation: number): LaneEvent {
  const event: BatonEvent = { type, instanceId: lane, atMs, generation, fingerprint: `fp:${generation}` };
  return { lane, event };
}
function auth(lane: string, atMs: number): LaneEvent {
  return { lane, event: { type: 'issuer-call', instanceId: lane, atMs, outcome: 'issued' } };
}
function read(lane: string, atMs: number): LaneEvent {
  return { lane, event: { type: 'store-read', instanceId: lane, atMs, found: true, generation: 1 } };
}

/** Incident at 1000: three lanes on generation 1, a rejects at 1010, refreshes, b and c follow. */
const incidentEvents: LaneEvent[] = [
  token('a', 'token-used', 1_005, 1),
  token('a', 'token-rejected', 1_010, 1),
  token('b', 'token-used', 1_050, 1),
  token('b', 'token-rejected', 1_060, 1),
  auth('a', 1_320),
  token('a', 'token-published', 1_330, 2),
  token('a', 'token-used', 1_331, 2),
  token('b', 'token-adopted', 1_400, 2),
  token('b', 'token-used', 1_400, 2),
  token('c', 'token-used', 1_900, 1),
  token('c', 'token-rejected', 1_910, 1),
  token('c', 'token-used', 1_925, 2),
  token('a', 'token-used', 2_000, 2),
];

describe('settleWindow', () => {
  it('runs until the last rejected lane uses the accepted generation', () => {
    const stats = settleWindow({ kind: 'invalidate', atMs: 1_000 }, incidentEvents);
    expect(stats).toMatchObject({
      kind: 'invalidate',
      atMs: 1_000,
      authCalls: 1,
      rejections: 3,
      settleMs: 925,
      settledGeneration: 2,
      publishMs: 330,
      recoverMsMax: 340,
      rejectedLanes: ['a', 'b', 'c'],
    });
    expect(stats.detail).toContain('the last to use generation 2 was c');
  });

  it('does not settle while a rejected lane never used the new generation', () => {
    const events = incidentEvents.filter((entry) => !(entry.lane === 'c' && entry.event.type === 'token-used' && entry.event.atMs === 1_925));
    const stats = settleWindow({ kind: 'expire', atMs: 1_000 }, events);
    expect(stats.settleMs).toBeNull();
    expect(stats.detail).toContain('lanes c saw a rejection but never used generation 2');
  });

  it('does not settle when nobody noticed the incident', () => {
    const stats = settleWindow({ kind: 'expire', atMs: 1_000 }, [token('a', 'token-used', 1_100, 1)]);
    expect(stats).toMatchObject({ settleMs: null, rejections: 0, detail: 'no instance saw a rejection after the incident' });
  });

  it('does not settle when every generation used was rejected', () => {
    const stats = settleWindow({ kind: 'invalidate', atMs: 0 }, [token('a', 'token-used', 1, 1), token('a', 'token-rejected', 2, 1)]);
    expect(stats).toMatchObject({ settleMs: null, settledGeneration: null, detail: 'no accepted generation was used after the incident' });
  });

  it('settles on the newest accepted generation when a fresh token was rejected too', () => {
    const events = [
      token('a', 'token-used', 10, 1),
      token('a', 'token-rejected', 11, 1),
      token('a', 'token-used', 400, 2),
      token('a', 'token-rejected', 401, 2),
      token('a', 'token-used', 800, 3),
    ];
    expect(settleWindow({ kind: 'invalidate', atMs: 0 }, events)).toMatchObject({ settleMs: 800, settledGeneration: 3, authCalls: 0, rejections: 2 });
  });
});

describe('settleBootstrap', () => {
  it('runs from the first event to the first use of the first published token', () => {
    const events = [read('a', 100), auth('a', 420), token('a', 'token-published', 430, 1), token('b', 'token-used', 450, 1), token('a', 'token-used', 431, 1)];
    expect(settleBootstrap(byTime(events))).toMatchObject({ kind: 'bootstrap', atMs: 100, authCalls: 1, settleMs: 331, publishMs: 330, settledGeneration: 1 });
  });

  it('counts the token as out when a follower read it before the publisher heard back', () => {
    const events = [read('a', 100), auth('a', 420), token('b', 'token-adopted', 425, 1), token('b', 'token-used', 425, 1), token('a', 'token-published', 440, 1)];
    expect(settleBootstrap(byTime(events))).toMatchObject({ settleMs: 325, publishMs: 325 });
  });

  it('is unsettled without events', () => {
    expect(settleBootstrap([])).toMatchObject({ settleMs: null, detail: 'no coordinator event before the first incident' });
  });
});

describe('analyzeWindows', () => {
  it('splits the run at each incident and attributes auth calls and 401s to the window they fall in', () => {
    const events = [
      read('a', 0),
      auth('a', 300),
      token('a', 'token-published', 310, 1),
      token('a', 'token-used', 311, 1),
      ...incidentEvents,
      token('a', 'token-used', 5_010, 2),
      token('a', 'token-rejected', 5_020, 2),
      auth('a', 5_330),
      token('a', 'token-published', 5_340, 3),
      token('a', 'token-used', 5_341, 3),
    ];
    const windows = analyzeWindows(events, [{ kind: 'expire', atMs: 5_000 }, { kind: 'invalidate', atMs: 1_000 }], 6_000);
    expect(windows.map((window) => [window.kind, window.authCalls, window.rejections, window.settleMs])).toEqual([
      ['bootstrap', 1, 0, 311],
      ['invalidate', 1, 3, 925],
      ['expire', 1, 1, 341],
    ]);
  });
});

describe('countTotals', () => {
  it('counts reads, writes, auth calls, rejections and takeovers', () => {
    const events: LaneEvent[] = [
      read('a', 1),
      { lane: 'a', event: { type: 'store-write', instanceId: 'a', atMs: 2, intent: 'claim', outcome: 'applied' } },
      { lane: 'b', event: { type: 'store-write', instanceId: 'b', atMs: 3, intent: 'claim', outcome: 'condition-failed' } },
      { lane: 'b', event: { type: 'takeover', instanceId: 'b', atMs: 4, staleLeaseHolder: 'a' } },
      { lane: 'b', event: { type: 'alarm', instanceId: 'b', atMs: 5, code: 'FRESH_TOKEN_REJECTED', message: 'x' } },
      auth('a', 6),
      token('a', 'token-rejected', 7, 1),
    ];
    expect(countTotals(events)).toMatchObject({ ddbReads: 1, ddbWrites: 2, ddbWritesApplied: 1, ddbWritesConditionFailed: 1, takeovers: 1, alarms: 1, authCalls: 1, rejections: 1 });
  });
});
