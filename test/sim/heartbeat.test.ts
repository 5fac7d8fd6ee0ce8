/**
 * Heartbeats on the virtual-time World (N coordinators, MemoryTokenStore, the strict fake chat
 * API): how long a live holder may keep its lease, what a store brownout or a clock step during
 * a heartbeat costs. Found by trying to break the heartbeat design; each test states its
 * expected outcome first.
 */
import { describe, expect, it } from 'vitest';
import { leaseHoldMsMax } from '../../src/machine/config.js';
import { IssuerUnavailableError } from '../../src/runtime/errors.js';
import { World } from '../support/world.js';
import { call } from '../support/calls.js';
import type { Call } from '../support/calls.js';

/** A holder (instance 0) starts, two followers 50 ms later; runs until every call ended. */
async function holderAndFollowers(world: World): Promise<Call[]> {
  const t0 = world.time.nowMs;
  const calls = [call(world, 0, 'holder')];
  await world.time.run({ untilMs: t0 + 50 });
  for (let i = 1; i < world.coordinators.length; i += 1) calls.push(call(world, i, `f${i}`));
  const outcome = await world.time.settle(Promise.all(calls.map((c) => c.done)));
  expect(outcome.ok).toBe(true);
  return calls;
}

describe('how long a live holder keeps its lease', () => {
  it('an issuer taking 2.5 leases (default lease 10 s) is waited for: followers with a 60 s deadline are served, no round limit, 1 POST /auth', async () => {
    // Heartbeats keep one call alive for up to 0.8 + 5 × 0.4 = 2.8 leases; followers' round limit
    // covers a whole lease hold (leaseHoldMsMax) plus a stale lease.
    const world = new World({ instances: 3, authMs: 25_000, ddbMs: 10, coordinator: { waitMsMax: 60_000 } });
    const calls = await holderAndFollowers(world);
    expect(calls.map((c) => [c.id, c.ok, (c.error as Error | undefined)?.message])).toEqual([
      ['holder', true, undefined],
      ['f1', true, undefined],
      ['f2', true, undefined],
    ]);
    expect(world.authCalls()).toBe(1);
    expect(world.events.filter((e) => e.type === 'takeover')).toHaveLength(0);
  });

  it('an issuer slower than the heartbeats allow (3.8 leases): the call is aborted at 2.8 leases and not retried; every caller gets IssuerUnavailableError', async () => {
    const world = new World({ instances: 3, authMs: 38_000, ddbMs: 10, coordinator: { waitMsMax: 60_000 } });
    const t0 = world.time.nowMs;
    const calls = await holderAndFollowers(world);
    for (const c of calls) expect(c.error).toBeInstanceOf(IssuerUnavailableError);
    // The holder's call was aborted at ~28 s (0.8 + 5 × 0.4 leases); nobody waited past ~28 s + a poll.
    for (const c of calls) expect((c.endMs ?? 0) - t0).toBeLessThanOrEqual(28_000 + 500);
    expect(world.authCalls()).toBe(1);
  });

  it('an issuer that never answers (honouring its abort) keeps the lease at most leaseHoldMsMax; the fleet fails with IssuerUnavailableError', async () => {
    const leaseMs = 2_000;
    const world = new World({ instances: 2, authMs: 1e9, ddbMs: 10, coordinator: { leaseMs, maxClockSkewMs: 0, waitMsMax: 120_000 } });
    const t0 = world.time.nowMs;
    const calls = await holderAndFollowers(world);
    const release = world.writeLog.find((w) => w.index === 0 && w.request.intent === 'release');
    expect(release).toBeDefined();
    expect((release?.atMs ?? Infinity) - t0).toBeLessThanOrEqual(leaseHoldMsMax({ leaseMs, issuerAttemptsMax: 3 }));
    for (const c of calls) expect(c.error).toBeInstanceOf(IssuerUnavailableError);
  });
});

describe('what disturbs a heartbeat', () => {
  it('a store brownout of 0.3 leases (heartbeat answers lost) costs nothing: unknown heartbeats are retried without spending the budget', async () => {
    // lease 2000: the first heartbeat goes at ~800 ms; answers are lost until 1300 ms (the writes
    // applied; the holder cannot know), so the abort point stays at 1600 ms until a heartbeat is
    // answered at ~1300 ms and moves it to ~2900 ms; the next one (~2100 ms) to ~3700 ms: the 3 s
    // POST /auth completes. A brownout covering the whole abort window would cost one more
    // POST /auth (the call is aborted at the unchanged abort point: safe, not economical).
    const world = new World({ instances: 2, authMs: 3_000, ddbMs: 10, coordinator: { leaseMs: 2_000 } });
    const t0 = world.time.nowMs;
    world.loseWriteResponse = (request) => request.intent === 'renew' && world.time.nowMs - t0 >= 700 && world.time.nowMs - t0 < 1_300;
    const calls = await holderAndFollowers(world);
    expect(calls.every((c) => c.ok)).toBe(true);
    expect(world.authCalls()).toBe(1);
    expect(world.events.filter((e) => e.type === 'takeover')).toHaveLength(0);
  });

  it("the holder's clock steps back 5 s while a heartbeat is answered: its next heartbeat and its abort point stay within the lease", async () => {
    // Durations are differences of clock readings; a backward step between a heartbeat's send and
    // its answer must not push the next heartbeat or the abort point past the renewed lease (they
    // are capped at one heartbeat period and one full budget from now). Expected: no takeover, 1 POST /auth.
    const world = new World({ instances: 2, authMs: 3_000, ddbMs: 10, coordinator: { leaseMs: 2_000, maxClockSkewMs: 0 } });
    const t0 = world.time.nowMs;
    world.listeners.push((event) => {
      // The first heartbeat is written at ~810 ms; step the holder's clock back before its answer.
      if (event.type === 'store-write' && event.instanceId === 'i0' && event.intent === 'renew' && world.time.nowMs - t0 < 1_000) world.clocks[0]!.jump(-5_000);
    });
    const calls = await holderAndFollowers(world);
    expect(calls.every((c) => c.ok)).toBe(true);
    expect(world.events.filter((e) => e.type === 'takeover')).toHaveLength(0);
    expect(world.authCalls()).toBe(1);
  });
});
