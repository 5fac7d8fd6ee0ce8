/**
 * The field scenarios S1–S8 of spec/SCENARIOS.md as deterministic virtual-time simulations,
 * plus nastier variants (clock skew and jumps, lost write responses, outside invalidations in the
 * middle of a refresh, incidents back to back, large fleets, item deletion, shared instance ids).
 *
 * Every test states the expected outcome first and then asserts it exactly. Every test also runs
 * the fleet-wide checks of `expectHealthy`: every write conditional (fenced writes carry the
 * writer's own lease id), no message lost or duplicated (each call either delivered exactly once or
 * rejected with a BatonError and never delivered), no secret or token in any error, log or event.
 *
 * Determinism: virtual time, the World's fixed-seed jitter source, fixed start times.
 */
import { describe, expect, it } from 'vitest';
import {
  AttemptsExhaustedError,
  BatonError,
  IssuerRefusedError,
  IssuerUnavailableError,
  StoreUnavailableError,
  TokenUnavailableError,
} from '../../src/runtime/errors.js';
import type { BatonEvent } from '../../src/runtime/events.js';
import { SECRET, World, tokenOf } from '../support/world.js';
import { call } from '../support/calls.js';
import type { Call } from '../support/calls.js';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Poll interval and its jitter bound (defaults of the coordinator). */
const POLL_MS = 100;
const POLL_MAX_MS = 125;
const DEFAULT_LEASE_MS = 10_000;
const DEFAULT_SKEW_MS = 1_000;

/** One `withToken` call through `world.send`, tracked to its outcome (never rejects). */
/** Starts a call `delayMs` of virtual time from now; returns a holder filled when it starts. */
function callLater(world: World, delayMs: number, index: number, id: string, into: Call[], options: { deadlineMs?: number } = {}): void {
  world.time.scheduler.setTimeout(() => into.push(call(world, index, id, options)), delayMs);
}

/** Runs virtual time until every call settled (throws on deadlock). */
async function settleCalls(world: World, calls: readonly Call[]): Promise<void> {
  const outcome = await world.time.settle(Promise.all(calls.map((c) => c.done)));
  expect(outcome.ok).toBe(true);
  for (const c of calls) expect(c.ok, `call ${c.id} settled`).not.toBeUndefined();
}

/** Every event with the true (virtual) time it happened at; event `atMs` is the instance's own clock. */
function recordTrueTimes(world: World): { event: BatonEvent; atMs: number }[] {
  const timeline: { event: BatonEvent; atMs: number }[] = [];
  world.listeners.push((event) => timeline.push({ event, atMs: world.time.nowMs }));
  return timeline;
}

/** A trimmed, human-readable timeline (for failure messages and the report). */
function timeline(world: World, t0: number, from = 0): string {
  return world.events
    .slice(from)
    .filter((e) => e.type !== 'state' && e.type !== 'store-read' && e.type !== 'token-used')
    .map((e) => {
      const extra = 'generation' in e ? ` g${e.generation}` : 'intent' in e ? ` ${e.intent}` : '';
      const outcome = 'outcome' in e ? ` ${e.outcome}` : '';
      return `${e.atMs - t0} ${e.instanceId} ${e.type}${extra}${outcome}`;
    })
    .join('\n');
}

const appliedWrites = (world: World, intent: string, sinceSeq = 0) =>
  world.store.history().filter((entry) => entry.seq > sinceSeq && entry.request.intent === intent);
const lastSeq = (world: World) => world.store.history().at(-1)?.seq ?? 0;
const eventsOf = <T extends BatonEvent['type']>(world: World, type: T, from = 0) =>
  world.events.slice(from).filter((e): e is Extract<BatonEvent, { type: T }> => e.type === type);

/**
 * Fleet-wide invariants every scenario must keep:
 * - every write request (applied or not) states `condition.exists`; claims are conditioned on
 *   absence or on (generation, no lease); take-overs on (lease id, revision); publish, renew,
 *   release and record-failure on the writer's *own* lease id;
 * - no message lost: each call was delivered exactly once, or it was rejected with a BatonError
 *   and never delivered; no duplicate deliveries at all;
 * - no secret and no token value in any error message, log line or event.
 */
function expectHealthy(world: World, calls: readonly Call[]): void {
  expect(world.writeLog.length).toBeGreaterThan(0);
  for (const { index, request } of world.writeLog) {
    const { condition } = request;
    expect(typeof condition.exists, `${request.intent} by i${index} states condition.exists`).toBe('boolean');
    switch (request.intent) {
      case 'claim':
        if (condition.exists) {
          expect(condition.leaseId).toBeNull();
          expect(typeof condition.generation).toBe('number');
        }
        break;
      case 'take-over':
        expect(condition.exists).toBe(true);
        expect(typeof condition.leaseId).toBe('string');
        expect(typeof condition.revision).toBe('number');
        break;
      default:
        // Fenced writes: the condition names a lease this very instance created.
        expect(condition.exists).toBe(true);
        expect(typeof condition.leaseId === 'string' && condition.leaseId.startsWith(`${world.coordinators[index]?.instanceId ?? '?'}.`), `${request.intent} by i${index} is fenced by its own lease`).toBe(true);
    }
  }
  for (const entry of world.store.history()) expect(typeof entry.request.condition.exists).toBe('boolean');

  const stats = world.api.stats();
  expect(stats.duplicates).toBe(0);
  for (const c of calls) {
    if (c.ok === true) {
      expect(world.api.deliveries(c.id), `${c.id} delivered once`).toBe(1);
    } else {
      expect(c.error, `${c.id} failed with a Baton error`).toBeInstanceOf(BatonError);
      expect(world.api.deliveries(c.id), `${c.id} reported as not sent`).toBe(0);
    }
  }

  const texts: string[] = [];
  for (const c of calls) {
    if (c.error instanceof Error) {
      texts.push(c.error.message, String(c.error.stack));
      if (c.error.cause instanceof Error) texts.push(c.error.cause.message);
    }
  }
  for (const log of world.logs) texts.push(log.message, JSON.stringify(log.details));
  for (const event of world.events) texts.push(JSON.stringify(event));
  for (const text of texts) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('secretvalue');
  }
}

/** The fleet converged: the item holds the token the chat API accepts, and no lease. */
function expectConverged(world: World): void {
  const record = world.store.snapshot();
  expect(record?.token).toBeDefined();
  expect(record?.token).toBe(world.acceptedToken());
  expect(record?.leaseId).toBeUndefined();
}

/** Warms instances on one token (normally one bootstrap POST /auth) and moves 10 s on. */
async function warm(world: World, indexes: readonly number[], bootstrapAuthCalls = 1): Promise<Call[]> {
  const calls = indexes.map((i) => call(world, i, `warm-${i}`));
  await settleCalls(world, calls);
  expect(calls.every((c) => c.ok)).toBe(true);
  expect(world.authCalls()).toBe(bootstrapAuthCalls);
  world.time.nowMs += 10_000;
  return calls;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---------------------------------------------------------------------------------------------
// S1 — cold start with an empty cache kills everyone's token
// ---------------------------------------------------------------------------------------------

describe('S1 — cold start with an empty cache (4 instances, auth=300, ddb=10)', () => {
  const A = 0;
  const B = 1;
  const C = 2;
  const D = 3;

  it('C cold-starts while A, B, D hold T1: C reads the item and uses T1, zero POST /auth, zero writes', async () => {
    // Expected: C makes one store read and no write, sends with T1; POST /auth stays at the one
    // bootstrap call; every instance keeps using T1 (no 401 anywhere).
    const world = new World({ instances: 4, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, [A, B, D]);
    const historyBefore = world.store.history().length;
    const cold = call(world, C, 'cold-c');
    calls.push(cold);
    await settleCalls(world, [cold]);
    expect(cold.ok).toBe(true);
    expect(cold.endMs! - cold.startMs).toBeLessThanOrEqual(10 + 2); // one read + the post
    expect(world.coordinators[C]!.stats()).toMatchObject({ storeReads: 1, storeWrites: 0, authCalls: 0 });
    const again = [A, B, C, D].map((i) => call(world, i, `again-${i}`));
    calls.push(...again);
    await settleCalls(world, again);
    expect(world.authCalls()).toBe(1);
    expect(world.api.stats().rejections).toBe(0);
    expect(world.store.history()).toHaveLength(historyBefore);
    expect(world.api.delivered().every((m) => m.generation === 1)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('T1 killed by a naive POST /auth: A, B, D get 401 within 2 ms — one POST /auth for the rejected generation, no ping-pong', async () => {
    // Expected: the 401s re-read the item; only claims conditioned on the rejected generation (1)
    // are sent; exactly one claim applies; exactly one POST /auth; all three messages delivered
    // with the new token; a second round of traffic costs nothing more.
    const world = new World({ instances: 4, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, [A, B, C, D]);
    const seq = lastSeq(world);
    const writesBefore = world.writeLog.length;
    const cWritesBefore = world.coordinators[C]!.stats().storeWrites;
    world.api.invalidate(); // the naive cold start's POST /auth (an outsider to the fleet)
    const incident: Call[] = [];
    callLater(world, 0, A, 'a', incident);
    callLater(world, 1, B, 'b', incident);
    callLater(world, 2, D, 'd', incident);
    await world.time.run({ untilMs: world.time.nowMs + 3 });
    await settleCalls(world, incident);
    calls.push(...incident);
    expect(world.authCalls()).toBe(2);
    expect(world.api.stats().invalidations).toBe(1);
    expect(world.api.stats().rejections).toBe(3);
    expect(appliedWrites(world, 'claim', seq)).toHaveLength(1);
    expect(appliedWrites(world, 'publish', seq)).toHaveLength(1);
    const claims = world.writeLog.slice(writesBefore).filter((w) => w.request.intent === 'claim');
    expect(claims.length).toBeGreaterThanOrEqual(1);
    for (const claim of claims) expect(claim.request.condition).toEqual({ exists: true, generation: 1, leaseId: null });
    expect(incident.every((c) => c.ok)).toBe(true);
    // No ping-pong: everybody (C too) sends again with the same token.
    const again = [A, B, C, D].map((i) => call(world, i, `again-${i}`));
    calls.push(...again);
    await settleCalls(world, again);
    expect(world.authCalls()).toBe(2);
    expect(world.api.stats().rejections).toBe(3 + 1); // C still held T1: one 401, then it adopts
    expect(world.coordinators[C]!.stats().storeWrites - cWritesBefore).toBe(0);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('a stale 401 (the rejected token is no longer the stored one) re-reads and adopts: zero POST /auth, zero writes', async () => {
    // Expected: D still holds T1 after the fleet moved to T2; its 401 makes it re-read, find
    // generation 2 > 1 and adopt it: no claim, no POST /auth, the message is delivered.
    const world = new World({ instances: 4, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, [A, B, C, D]);
    world.api.invalidate();
    const incident = [call(world, A, 'a')];
    await settleCalls(world, incident);
    expect(world.authCalls()).toBe(2);
    const dWritesBefore = world.coordinators[D]!.stats().storeWrites;
    const stale = call(world, D, 'd-stale');
    await settleCalls(world, [stale]);
    calls.push(...incident, stale);
    expect(stale.ok).toBe(true);
    expect(world.authCalls()).toBe(2);
    expect(world.coordinators[D]!.stats().storeWrites - dWritesBefore).toBe(0);
    expect(world.coordinators[D]!.stats().rejections).toBe(1);
    expect(stale.endMs! - stale.startMs).toBeLessThanOrEqual(2 + 10 + 2); // 401, one read, resend
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('a 401 on a token minted moments ago raises an alarm and is never retried in a loop', async () => {
    // A rogue client re-authenticates right after every token the fleet publishes (the
    // "someone else uses the same credentials" case). Expected: each freshly published token that
    // is rejected raises FRESH_TOKEN_REJECTED once per instance; one POST /auth per rejected
    // generation (gen 1 and gen 2 → 2 refreshes, plus the bootstrap = 3); every caller stops after
    // maxAttempts (3) with AttemptsExhaustedError naming the likely cause; afterwards the fleet
    // makes no further POST /auth on its own (no loop).
    const world = new World({ instances: 4, authMs: 300, ddbMs: 10 });
    world.listeners.push((event) => {
      if (event.type === 'token-published') world.api.invalidate();
    });
    const calls = [A, B, C, D].map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, calls);
    expect(world.authCalls()).toBe(3);
    expect(world.api.stats().invalidations).toBe(3);
    for (const c of calls) {
      expect(c.error).toBeInstanceOf(AttemptsExhaustedError);
      expect((c.error as AttemptsExhaustedError).attempts).toBe(3);
      expect((c.error as Error).message).toMatch(/no other client uses the same credentials/);
    }
    expect(world.api.stats().rejections).toBe(4 * 3);
    const alarms = eventsOf(world, 'alarm');
    expect(alarms.every((a) => a.code === 'FRESH_TOKEN_REJECTED')).toBe(true);
    // One alarm per instance per rejected fresh generation (generations 1 and 2; the third
    // rejection ends the call, so the machine never sees it).
    expect(alarms).toHaveLength(4 * 2);
    for (const i of [A, B, C, D]) expect(world.coordinators[i]!.stats().alarms).toBe(2);
    // Nothing keeps going by itself.
    await world.time.run({ untilMs: world.time.nowMs + 60_000 });
    expect(world.authCalls()).toBe(3);
    expect(world.time.pendingTimers).toBe(0);
    expectHealthy(world, calls);
  });
});

// ---------------------------------------------------------------------------------------------
// S2 — slow issuer, waiting followers
// ---------------------------------------------------------------------------------------------

describe('S2 — slow issuer (auth=1500), 3 instances rejected within 3 ms', () => {
  it('exactly one POST /auth; followers adopt within one poll interval of the publish; a short deadline gets a retryable error', async () => {
    // Expected: one claim, one POST /auth; the followers' token-adopted comes at most one
    // (jittered) poll interval plus one read after the token-published; a follower call whose
    // deadline (500 ms) ends before the refresh gets TokenUnavailableError('deadline'), retryable,
    // exactly at its deadline, with fn never called (never a wrong token); no 401 beyond the three
    // that started the incident.
    const world = new World({ instances: 3, authMs: 1_500, ddbMs: 10 });
    const calls = await warm(world, [0, 1, 2]);
    const times = recordTrueTimes(world);
    const t0 = world.time.nowMs;
    const seq = lastSeq(world);
    world.api.invalidate();
    const incident: Call[] = [];
    callLater(world, 0, 0, 'a', incident);
    callLater(world, 1, 1, 'b', incident);
    callLater(world, 3, 2, 'c', incident);
    callLater(world, 10, 2, 'c-short-deadline', incident, { deadlineMs: t0 + 10 + 500 });
    await world.time.run({ untilMs: t0 + 10 });
    await settleCalls(world, incident);
    calls.push(...incident);

    expect(world.authCalls()).toBe(2);
    expect(appliedWrites(world, 'claim', seq)).toHaveLength(1);
    expect(world.api.stats().rejections).toBe(3);
    const published = times.filter((t) => t.event.type === 'token-published');
    expect(published).toHaveLength(1);
    const publishedAt = published[0]!.atMs;
    const holder = published[0]!.event.instanceId;
    const adopted = times.filter((t) => t.event.type === 'token-adopted' && t.event.instanceId !== holder && t.atMs >= t0);
    expect(adopted).toHaveLength(2);
    for (const a of adopted) expect(a.atMs - publishedAt).toBeLessThanOrEqual(POLL_MAX_MS + 10 + 5);
    // The refresh itself: 401 at +2, read, claim, 1500 ms auth, publish.
    expect(publishedAt - t0).toBeLessThanOrEqual(2 + 10 + 10 + 1_500 + 10);

    const short = incident.find((c) => c.id === 'c-short-deadline')!;
    expect(short.ok).toBe(false);
    expect(short.error).toBeInstanceOf(TokenUnavailableError);
    const error = short.error as TokenUnavailableError;
    expect(error.reason).toBe('deadline');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/no usable token before the deadline/);
    expect(error.message).toMatch(/Retry later; nothing was sent with a stale token/);
    expect(short.endMs).toBe(t0 + 10 + 500);
    for (const c of incident.filter((x) => x !== short)) expect(c.ok).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });
});

// ---------------------------------------------------------------------------------------------
// S3 — issuer slower than the lease
// ---------------------------------------------------------------------------------------------

describe('S3 — issuer slower than the lease (lease=2000, holder stalls 3000 ms in POST /auth)', () => {
  it('take-over at ~2000 ms, the old holder is fenced at 3000 ms and adopts: 2 POST /auth', async () => {
    // maxClockSkewMs=0 so that the take-over happens at ~2000 ms as the scenario states.
    // Expected: B takes over between 2000 ms and 2000 ms + one poll + a few ddb; B refreshes and
    // publishes; A's publish (condition leaseId = A's lease) fails; A adopts B's token; since B's
    // POST /auth landed last, the stored token is the accepted one: 2 POST /auth, no third.
    const world = new World({ instances: 2, authMs: 300, ddbMs: 10, coordinator: { leaseMs: 2_000, maxClockSkewMs: 0 } });
    const times = recordTrueTimes(world);
    const t0 = world.time.nowMs;
    world.faults[0]!.stallIssuerMs = 3_000;
    const calls = [call(world, 0, 'a')];
    callLater(world, 50, 1, 'b', calls);
    await world.time.run({ untilMs: t0 + 50 });
    await settleCalls(world, calls);

    expect(world.authCalls()).toBe(2);
    const takeovers = times.filter((t) => t.event.type === 'takeover');
    expect(takeovers).toHaveLength(1);
    expect(takeovers[0]!.event.instanceId).toBe('i1');
    expect(takeovers[0]!.atMs - t0).toBeGreaterThanOrEqual(2_000);
    expect(takeovers[0]!.atMs - t0).toBeLessThanOrEqual(2_000 + POLL_MAX_MS + 3 * 10);
    const aPublish = world.writeLog.filter((w) => w.index === 0 && w.request.intent === 'publish');
    expect(aPublish).toHaveLength(1);
    expect(aPublish[0]!.request.condition).toEqual({ exists: true, leaseId: expect.stringMatching(/^i0\.[a-z0-9]+#1$/) });
    expect(aPublish[0]!.atMs - t0).toBeGreaterThanOrEqual(3_000);
    expect(appliedWrites(world, 'publish').map((e) => e.request.condition.leaseId)).toEqual([expect.stringMatching(/^i1\.[a-z0-9]+#1$/)]);
    expect(world.coordinators[0]!.stats().fencedPublishes).toBe(1);
    expect(calls.every((c) => c.ok)).toBe(true);
    expect(world.api.stats().rejections).toBe(0);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it("the stalled POST /auth lands after the successor's: the stored token is dead, exactly one more refresh (3 POST /auth)", async () => {
    // A's request reaches the server only at 2900 ms (after B's refresh at ~2150 ms), so A's late
    // token kills the one B published. Expected: A is fenced and adopts B's (now dead) token; the
    // resulting 401 triggers exactly one more refresh; 3 POST /auth in total; afterwards every
    // instance converges on the stored token with no further POST /auth (no livelock).
    const world = new World({ instances: 2, authMs: 300, ddbMs: 10, coordinator: { leaseMs: 2_000, maxClockSkewMs: 0 } });
    const t0 = world.time.nowMs;
    world.faults[0]!.stallIssuerMs = 3_000;
    world.faults[0]!.issuerArrivesAfterMs = 2_900;
    const calls = [call(world, 0, 'a')];
    callLater(world, 50, 1, 'b', calls);
    await world.time.run({ untilMs: t0 + 50 });
    delete world.faults[0]!.stallIssuerMs; // only the first call stalls
    await settleCalls(world, calls);

    expect(world.authCalls()).toBe(3);
    expect(world.coordinators[0]!.stats().fencedPublishes).toBe(1);
    expect(eventsOf(world, 'takeover')).toHaveLength(1);
    expect(appliedWrites(world, 'publish')).toHaveLength(2);
    expect(world.api.stats().rejections).toBe(1);
    expect(calls.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    const again = [0, 1].map((i) => call(world, i, `again-${i}`));
    calls.push(...again);
    await settleCalls(world, again);
    expect(world.authCalls()).toBe(3);
    expect(again.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('with the default skew allowance (1000 ms) the stalled holder is back before anyone may take over: 1 POST /auth', async () => {
    // The lease counts as stale only at 2000 + 1000 ms; the holder returns at ~3020 ms.
    // Expected: at most 2 POST /auth whatever the race; with this seed the holder publishes first
    // (no take-over, no fence): exactly 1.
    const world = new World({ instances: 2, authMs: 300, ddbMs: 10, coordinator: { leaseMs: 2_000 } });
    const t0 = world.time.nowMs;
    world.faults[0]!.stallIssuerMs = 3_000;
    const calls = [call(world, 0, 'a')];
    callLater(world, 50, 1, 'b', calls);
    await world.time.run({ untilMs: t0 + 50 });
    await settleCalls(world, calls);
    expect(world.authCalls()).toBe(1);
    expect(eventsOf(world, 'takeover')).toHaveLength(0);
    expect(calls.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('a live holder whose issuer takes 1.5× the lease keeps its lease with heartbeats: no take-over, 1 POST /auth, 3 followers served', async () => {
    // Not frozen, only slow: POST /auth answers after 3000 ms, honouring its abort signal. Expected:
    // the holder renews its lease every 800 ms (40 % of 2000) while the call runs and moves the abort
    // point with it, so nothing is aborted; followers see the lease renewed and never judge it stale:
    // 0 take-overs, 1 POST /auth, every caller served once the token is published (~3000 ms).
    const world = new World({ instances: 4, authMs: 3_000, ddbMs: 10, coordinator: { leaseMs: 2_000, maxClockSkewMs: 0 } });
    const t0 = world.time.nowMs;
    const calls = [call(world, 0, 'a')];
    for (let i = 1; i < 4; i += 1) callLater(world, 50, i, `f${i}`, calls);
    await world.time.run({ untilMs: t0 + 50 });
    await settleCalls(world, calls);
    expect(world.authCalls()).toBe(1);
    expect(eventsOf(world, 'takeover')).toHaveLength(0);
    expect(eventsOf(world, 'fenced')).toHaveLength(0);
    const heartbeats = appliedWrites(world, 'renew');
    expect(heartbeats.length).toBeGreaterThanOrEqual(3);
    for (const w of heartbeats) expect(w.request.condition.leaseId).toMatch(/^i0\./);
    expect(calls.every((c) => c.ok)).toBe(true);
    for (const c of calls) expect(c.endMs! - t0).toBeLessThanOrEqual(3_000 + 200);
    expectConverged(world);
    expectHealthy(world, calls);
  });
});

// ---------------------------------------------------------------------------------------------
// S4 — holder dies between POST /auth and publish
// ---------------------------------------------------------------------------------------------

describe('S4 — holder dies between POST /auth and publish (5 instances, auth=150)', () => {
  it('default lease: exactly one successor takes over and refreshes; all settle within lease + skew allowance + auth + a few round trips', async () => {
    // Expected: the crashed holder's lease stands unchanged; once it is stale (lease 10 s + the
    // 1 s skew allowance) exactly one follower takes it over (conditioned on the crashed lease id
    // and revision) and refreshes: 2 POST /auth, 1 take-over; the 4 live callers succeed within
    // 10000 + 1000 + 150 + one poll + 6 ddb; the dead instance's call never returns (it is dead).
    const world = new World({ instances: 5, authMs: 150, ddbMs: 10 });
    const t0 = world.time.nowMs;
    world.faults[0]!.crashAfterIssue = true;
    const doomed = call(world, 0, 'doomed');
    const calls = [1, 2, 3, 4].map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, calls);

    expect(world.authCalls()).toBe(2);
    expect(eventsOf(world, 'takeover')).toHaveLength(1);
    const takeovers = appliedWrites(world, 'take-over');
    expect(takeovers).toHaveLength(1);
    expect(takeovers[0]!.request.condition).toMatchObject({ exists: true, leaseId: expect.stringMatching(/^i0\.[a-z0-9]+#1$/) });
    const bound = DEFAULT_LEASE_MS + DEFAULT_SKEW_MS + 150 + POLL_MAX_MS + 6 * 10;
    for (const c of calls) {
      expect(c.ok).toBe(true);
      expect(c.endMs! - t0).toBeLessThanOrEqual(bound);
    }
    expect(Math.max(...calls.map((c) => c.endMs!)) - t0).toBeGreaterThanOrEqual(DEFAULT_LEASE_MS + DEFAULT_SKEW_MS);
    expect(doomed.ok).toBeUndefined();
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('holder dies after claiming, before its POST /auth reaches the server: the successor makes the only POST /auth', async () => {
    // Expected: 1 POST /auth in total (the successor's), 1 take-over, all 4 live callers served.
    const world = new World({ instances: 5, authMs: 150, ddbMs: 10, coordinator: { leaseMs: 2_000 } });
    world.listeners.push((event) => {
      if (event.type === 'store-write' && event.instanceId === 'i0' && event.intent === 'claim' && event.outcome === 'applied') world.faults[0]!.crashed = true;
    });
    const t0 = world.time.nowMs;
    call(world, 0, 'doomed');
    const calls = [1, 2, 3, 4].map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, calls);
    expect(world.authCalls()).toBe(1);
    expect(eventsOf(world, 'takeover')).toHaveLength(1);
    for (const c of calls) expect(c.endMs! - t0).toBeLessThanOrEqual(2_000 + DEFAULT_SKEW_MS + 150 + POLL_MAX_MS + 6 * 10);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('the successor dies the same way: a second take-over, 3 POST /auth, survivors still served before their 30 s default deadline (no round limit)', async () => {
    // Expected: two take-overs in a row (each after its own lease + skew), 3 POST /auth, the 3
    // surviving callers served within 2 × (10000 + 1000) + 2 × (150 + one poll + a few ddb).
    const world = new World({ instances: 5, authMs: 150, ddbMs: 10 });
    world.faults[0]!.crashAfterIssue = true;
    let successor = -1;
    world.listeners.push((event) => {
      if (event.type === 'takeover' && successor < 0) {
        successor = Number(event.instanceId.slice(1));
        world.faults[successor]!.crashAfterIssue = true;
      }
    });
    const t0 = world.time.nowMs;
    const all = [0, 1, 2, 3, 4].map((i) => call(world, i, `m-${i}`));
    // Run until only the two dead instances' calls are pending.
    await world.time.run({ done: () => all.filter((c) => c.ok === undefined).length === 2 });
    const survivors = all.filter((c) => c.ok !== undefined);
    expect(survivors).toHaveLength(3);
    expect(successor).toBeGreaterThan(0);
    expect(world.authCalls()).toBe(3);
    expect(eventsOf(world, 'takeover')).toHaveLength(2);
    for (const c of survivors) {
      expect(c.ok).toBe(true);
      expect(c.endMs! - t0).toBeLessThanOrEqual(2 * (DEFAULT_LEASE_MS + DEFAULT_SKEW_MS) + 2 * (150 + POLL_MAX_MS + 6 * 10));
    }
    expectConverged(world);
    expectHealthy(world, survivors);
  });
});

// ---------------------------------------------------------------------------------------------
// S5 — a burst of cold starts on an empty table
// ---------------------------------------------------------------------------------------------

describe('S5 — 100 cold starts within 2 s on an empty table (auth=300, ddb=10)', () => {
  it('exactly one POST /auth; every instance settles within auth + two poll intervals of its start', async () => {
    // Expected: 1 POST /auth, exactly 2 applied writes (the claim on the absent item and the
    // publish); every other claim refused by its condition; every instance's first message is
    // delivered no later than 300 + 2 × 100 ms after it started.
    const world = new World({ instances: 100, authMs: 300, ddbMs: 10 });
    const calls: Call[] = [];
    for (const i of range(100)) callLater(world, i * 20, i, `cold-${i}`, calls);
    await world.time.run({ untilMs: world.time.nowMs + 99 * 20 });
    expect(calls).toHaveLength(100);
    await settleCalls(world, calls);
    expect(world.authCalls()).toBe(1);
    expect(world.store.history().map((e) => e.request.intent)).toEqual(['claim', 'publish']);
    expect(world.store.history()[0]!.request.condition).toEqual({ exists: false });
    for (const c of calls) {
      expect(c.ok).toBe(true);
      expect(c.endMs! - c.startMs, c.id).toBeLessThanOrEqual(300 + 2 * POLL_MS);
    }
    expect(world.api.stats().messagesAccepted).toBe(100);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('fixed bug: the item is deleted while the fleet is warm — after the one unavoidable POST /auth, warm instances adopt, no ping-pong', async () => {
    // "All find no token (first deployment, or item deleted)". The fleet holds generation 3 in
    // memory; the item is deleted; a cold start finds nothing and (unavoidably) refreshes, which
    // kills the fleet's token and publishes generation 1. Expected: each warm instance's 401
    // re-reads, sees a token different from the one rejected, adopts it: 1 POST /auth in total
    // for the incident, every message delivered within a few polls.
    // Actual: generation 1 < 3 is "not newer", so each warm instance claims and refreshes in turn
    // (each killing the previous token) until the stored generation exceeds 3, and instances that
    // published a generation ≤ 3 cannot use their own token: their callers wait out the 30 s
    // deadline. See the report (bug 1).
    const world = new World({ instances: 4, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, [0, 1, 2, 3]);
    for (const round of [1, 2]) {
      world.api.invalidate();
      const incident = [0, 1, 2, 3].map((i) => call(world, i, `r${round}-${i}`));
      await settleCalls(world, incident);
      calls.push(...incident);
      world.time.nowMs += 10_000;
    }
    expect(world.store.snapshot()?.generation).toBe(3);
    const authBefore = world.authCalls();
    world.store.seed(undefined); // operator deletes the item (or restores an old backup)
    world.addInstance(0, () => 0.5);
    const cold = call(world, 4, 'cold');
    await settleCalls(world, [cold]);
    expect(world.authCalls()).toBe(authBefore + 1);
    const t0 = world.time.nowMs;
    const after = [0, 1, 2, 3].map((i) => call(world, i, `after-${i}`));
    await settleCalls(world, after);
    calls.push(cold, ...after);
    expect(world.authCalls()).toBe(authBefore + 1);
    for (const c of after) {
      expect(c.ok).toBe(true);
      expect(c.endMs! - t0).toBeLessThanOrEqual(2 + 10 + 2 * POLL_MAX_MS + 2);
    }
    expectConverged(world);
    expectHealthy(world, calls);
  });
});

// ---------------------------------------------------------------------------------------------
// S6 — the issuer answers 500, or the answer is lost
// ---------------------------------------------------------------------------------------------

describe('S6 — POST /auth answers 500 or its answer is lost (5 instances)', () => {
  async function incidentWith(mode: 'error-500' | 'drop-after-issue') {
    const world = new World({ instances: 5, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, range(5));
    const seq = lastSeq(world);
    world.api.invalidate();
    world.api.authMode = mode;
    world.listeners.push((event) => {
      if (event.type === 'issuer-call' && event.outcome === 'unknown') world.api.authMode = 'ok';
    });
    const incident = range(5).map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, incident);
    calls.push(...incident);
    return { world, calls, incident, seq };
  }

  it('one 500: unknown outcome, no guess published, retried under the same lease: 2 POST /auth, one token', async () => {
    // Expected: 1 claim, then POST /auth → 500, then a renew of the *same* lease, then POST /auth
    // → token, then the publish under that lease; nothing published before the success; 2 POST
    // /auth for the incident; everybody on the one stored token.
    const { world, calls, incident, seq } = await incidentWith('error-500');
    expect(world.authCalls()).toBe(1 + 2);
    const writes = world.store.history().filter((e) => e.seq > seq);
    expect(writes.map((e) => e.request.intent)).toEqual(['claim', 'renew', 'publish']);
    const leaseId = writes[0]!.request.set.leaseId;
    expect(writes[1]!.request.condition.leaseId).toBe(leaseId);
    expect(writes[2]!.request.condition.leaseId).toBe(leaseId);
    expect(incident.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('answer lost after the server issued: the unknown token is never published; the retry under the same lease wins', async () => {
    // Expected: the server issued token #2 (killing #1) but nobody knows it; the holder renews
    // and retries; token #3 is published; #2 never appears in the item; 2 POST /auth.
    const { world, calls, incident, seq } = await incidentWith('drop-after-issue');
    expect(world.authCalls()).toBe(1 + 2);
    expect(world.api.stats().authDropped).toBe(1);
    const writes = world.store.history().filter((e) => e.seq > seq);
    expect(writes.map((e) => e.request.intent)).toEqual(['claim', 'renew', 'publish']);
    expect(world.store.history().some((e) => e.after.token === tokenOf(3))).toBe(false);
    expect(world.store.snapshot()?.token).toBe(tokenOf(4));
    expect(incident.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('500 on every attempt: bounded per lease, the lease released with a short fleet-wide pause, every caller gets IssuerUnavailableError', async () => {
    // Expected by S6: never more than issuerAttemptsMax (3) POST /auth under one lease; no
    // publish; the lease released with a short recorded back-off (ISSUER_UNAVAILABLE, 1 s) so the
    // other instances do not each spend their own 3 attempts; every caller gets
    // IssuerUnavailableError (retryable), nothing sent.
    const world = new World({ instances: 5, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, range(5));
    const seq = lastSeq(world);
    world.api.invalidate();
    world.api.authMode = 'error-500';
    const incident = range(5).map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, incident);
    calls.push(...incident);
    const writes = world.store.history().filter((e) => e.seq > seq);
    expect(writes.filter((e) => e.request.intent === 'publish')).toHaveLength(0);
    const leases = writes.filter((e) => e.request.intent === 'claim').map((e) => e.request.set.leaseId);
    expect(leases).toHaveLength(1);
    const lease = leases[0];
    expect(writes.filter((e) => e.request.intent === 'renew' && e.request.condition.leaseId === lease)).toHaveLength(2);
    const releases = writes.filter((e) => e.request.intent === 'release' && e.request.condition.leaseId === lease);
    expect(releases).toHaveLength(1);
    expect(releases[0]!.after).toMatchObject({ failureCode: 'ISSUER_UNAVAILABLE', failureCount: 1 });
    expect(world.authCalls() - 1).toBe(3);
    for (const c of incident) {
      expect(c.error).toBeInstanceOf(IssuerUnavailableError);
      expect((c.error as IssuerUnavailableError).retryable).toBe(true);
      expect((c.error as Error).message).toMatch(/POST \/auth gave no usable answer/);
    }
    expect(world.store.snapshot()?.leaseId).toBeUndefined();
    expectHealthy(world, calls);
  });
});

// ---------------------------------------------------------------------------------------------
// S7 — a write that succeeded but looked failed
// ---------------------------------------------------------------------------------------------

describe('S7 — a write applied whose response was lost', () => {
  it('claim applied, SDK retries it and the retry fails its condition: the instance recognises its own lease', async () => {
    // Expected: the first claimer's retry is refused with the item showing its own lease id; it
    // proceeds as the holder: 1 POST /auth, no take-over, every instance served within
    // auth + one poll + a few ddb (nobody waits for a lease nobody works on).
    const world = new World({ instances: 3, authMs: 300, ddbMs: 10 });
    let retried = 0;
    world.sdkRetryWrite = (request) => request.intent === 'claim' && retried++ === 0;
    const calls = range(3).map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, calls);
    expect(retried).toBeGreaterThan(0);
    expect(world.authCalls()).toBe(1);
    expect(eventsOf(world, 'takeover')).toHaveLength(0);
    expect(appliedWrites(world, 'claim')).toHaveLength(1);
    // Counted as what happened (the claim applied), not as what the retry's answer said.
    expect(world.coordinators[0]!.stats()).toMatchObject({ authCalls: 1, claimsWon: 1, claimsLost: 0, publishes: 1 });
    for (const c of calls) expect(c.endMs! - c.startMs).toBeLessThanOrEqual(300 + POLL_MAX_MS + 6 * 10);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('take-over applied, SDK retry refused: the successor recognises its lease (one take-over, 2 POST /auth)', async () => {
    // S4 with lease 2000; the take-over's response is lost and the SDK retry fails its condition.
    // Expected: exactly one applied take-over, no second one, 2 POST /auth, followers served.
    const world = new World({ instances: 4, authMs: 150, ddbMs: 10, coordinator: { leaseMs: 2_000 } });
    world.faults[0]!.crashAfterIssue = true;
    let retried = 0;
    world.sdkRetryWrite = (request) => {
      if (request.intent !== 'take-over' || retried > 0) return false;
      retried += 1;
      return true;
    };
    const t0 = world.time.nowMs;
    call(world, 0, 'doomed');
    const calls = [1, 2, 3].map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, calls);
    expect(retried).toBe(1);
    expect(world.authCalls()).toBe(2);
    expect(appliedWrites(world, 'take-over')).toHaveLength(1);
    // The successor reports its take-over although it only learnt of it from the refused retry.
    expect(eventsOf(world, 'takeover')).toHaveLength(1);
    expect(world.coordinators.reduce((sum, c) => sum + c.stats().takeovers, 0)).toBe(1);
    for (const c of calls) expect(c.endMs! - t0).toBeLessThanOrEqual(2_000 + DEFAULT_SKEW_MS + 150 + POLL_MAX_MS + 8 * 10);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it.each([
    ['response lost (ambiguous error)', 'lose'],
    ['SDK retry refused', 'retry'],
  ] as const)('publish %s: read back, own token recognised, no fence, one POST /auth', async (_label, fault) => {
    // Expected: the holder finds its own token in the item and treats it as published: 1 POST
    // /auth for the incident, exactly 1 applied publish, no fenced report, all delivered.
    const world = new World({ instances: 3, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, range(3));
    const seq = lastSeq(world);
    let hits = 0;
    const once = (request: { intent: string }) => request.intent === 'publish' && hits++ === 0;
    if (fault === 'lose') world.loseWriteResponse = once;
    else world.sdkRetryWrite = once;
    world.api.invalidate();
    const incident = range(3).map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, incident);
    calls.push(...incident);
    expect(hits).toBeGreaterThan(0);
    expect(world.authCalls()).toBe(2);
    expect(appliedWrites(world, 'publish', seq)).toHaveLength(1);
    expect(eventsOf(world, 'fenced')).toHaveLength(0);
    expect(incident.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('renew response lost after a 500: the holder reads back, recognises its renewed lease, retries: 2 POST /auth', async () => {
    // Expected: claim, POST /auth → 500, renew (applied, response lost), read-back shows our
    // lease → POST /auth → publish: 2 POST /auth for the incident, no take-over, no second claim.
    const world = new World({ instances: 3, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, range(3));
    const seq = lastSeq(world);
    world.api.invalidate();
    world.api.authMode = 'error-500';
    world.listeners.push((event) => {
      if (event.type === 'issuer-call' && event.outcome === 'unknown') world.api.authMode = 'ok';
    });
    let lost = 0;
    world.loseWriteResponse = (request) => request.intent === 'renew' && lost++ === 0;
    const incident = range(3).map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, incident);
    calls.push(...incident);
    expect(lost).toBe(1);
    expect(world.authCalls()).toBe(1 + 2);
    expect(world.store.history().filter((e) => e.seq > seq).map((e) => e.request.intent)).toEqual(['claim', 'renew', 'publish']);
    expect(eventsOf(world, 'takeover')).toHaveLength(0);
    expect(incident.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('double fault — claim response lost AND the read-back fails: the claimer retries the read-back and keeps its lease', async () => {
    // Beyond S7 (two faults). Expected: a failed read-back is retried after a poll (bounded by the
    // episode's rounds) instead of orphaning a lease the instance may hold; the claimer
    // recognises its own lease, refreshes once, and everyone is served well before a lease could
    // go stale: 1 POST /auth, no take-over, every caller delivered.
    const world = new World({ instances: 3, authMs: 300, ddbMs: 10 });
    let lost = 0;
    let armed = false;
    world.loseWriteResponse = (request) => {
      if (request.intent !== 'claim' || lost++ !== 0) return false;
      armed = true;
      return true;
    };
    let failed = 0;
    world.failRead = (index) => {
      if (index !== 0 || !armed || failed > 0) return false;
      failed += 1;
      return true;
    };
    const t0 = world.time.nowMs;
    const calls = range(3).map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, calls);
    expect(failed).toBe(1);
    expect(world.authCalls()).toBe(1);
    expect(eventsOf(world, 'takeover')).toHaveLength(0);
    for (const c of calls) {
      expect(c.ok).toBe(true);
      expect(c.endMs! - t0).toBeLessThanOrEqual(300 + 2 * POLL_MAX_MS + 10 * 10);
    }
    expectConverged(world);
    expectHealthy(world, calls);
  });
});

// ---------------------------------------------------------------------------------------------
// S8 — credentials revoked
// ---------------------------------------------------------------------------------------------

describe('S8 — credentials revoked while 20 instances are busy', () => {
  it('one refused POST /auth per back-off window, recorded in the item; 800 messages all reported as not sent with a clear error', async () => {
    // The secret is rotated and the current token expires; each of 20 instances sends a message
    // every second for 40 s. Expected: POST /auth refused once at the start and once at the end
    // of each back-off (5 s, 10 s, 20 s → at ~0, ~5, ~15, ~35 s: 4 calls), never more than 3 in
    // any back-off window; each refusal recorded once (failureCount 1..4, back-off doubling);
    // every one of the 800 calls rejected with IssuerRefusedError naming HTTP 401 and the fix;
    // none delivered. Then the secret is fixed: one POST /auth and the fleet recovers.
    const world = new World({ instances: 20, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, range(20));
    const t0 = world.time.nowMs;
    const seq = lastSeq(world);
    world.api.authMode = 'refuse';
    world.api.expireCurrent();
    const busy: Call[] = [];
    for (let k = 0; k < 40; k += 1) for (const i of range(20)) callLater(world, k * 1_000 + i * 50, i, `busy-${k}-${i}`, busy);
    await world.time.run({ untilMs: t0 + 40_000 });
    await settleCalls(world, busy);
    calls.push(...busy);
    expect(busy).toHaveLength(800);

    const auths = world.api.authLog.entries.filter((e) => e.kind === 'auth' && e.atMs >= t0);
    expect(auths).toHaveLength(4);
    expect(auths.every((e) => e.kind === 'auth' && e.outcome === 'refused')).toBe(true);
    const failures = appliedWrites(world, 'record-failure', seq);
    expect(failures.map((e) => e.after.failureCount)).toEqual([1, 2, 3, 4]);
    expect(failures.map((e) => e.after.backoffUntilMs! - e.after.failureAtMs!)).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(failures.every((e) => e.after.failureStatus === 401 && e.after.failureCode === 'ISSUER_REFUSED')).toBe(true);
    for (const f of failures) {
      const windowCalls = auths.filter((a) => a.atMs > f.after.failureAtMs! && a.atMs < f.after.backoffUntilMs!);
      expect(windowCalls.length).toBeLessThanOrEqual(3);
      expect(windowCalls).toHaveLength(0);
    }
    for (const c of busy) {
      expect(c.ok).toBe(false);
      expect(c.error).toBeInstanceOf(IssuerRefusedError);
      const error = c.error as IssuerRefusedError;
      expect(error.status).toBe(401);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/refused the credentials \(HTTP 401\)/);
      expect(error.message).toMatch(/Check the auth secret/);
    }
    expect(world.api.stats().messagesAccepted).toBe(20);

    // Secret fixed; after the running back-off, one POST /auth and everyone recovers.
    world.api.authMode = 'ok';
    world.time.nowMs = failures.at(-1)!.after.backoffUntilMs! + 1;
    const recovered = range(20).map((i) => call(world, i, `ok-${i}`));
    await settleCalls(world, recovered);
    calls.push(...recovered);
    expect(recovered.every((c) => c.ok)).toBe(true);
    expect(world.api.authLog.entries.filter((e) => e.kind === 'auth' && e.atMs >= t0)).toHaveLength(5);
    expect(world.store.snapshot()?.failureCode).toBeUndefined();
    expectConverged(world);
    expectHealthy(world, calls);
  });
});

// ---------------------------------------------------------------------------------------------
// Nastier variants
// ---------------------------------------------------------------------------------------------

describe('Variants — clock skew and clock jumps (lease=2000, auth=1500, 3 instances)', () => {
  const LEASE = 2_000;
  const AUTH = 1_500;

  async function incident(skewMs: number[], jump?: { index: number; ms: number; atMs: number }, bootstrapAuthCalls = 1) {
    const world = new World({ instances: 3, authMs: AUTH, ddbMs: 10, skewMs, coordinator: { leaseMs: LEASE } });
    const calls = await warm(world, range(3), bootstrapAuthCalls);
    const seq = lastSeq(world);
    world.api.invalidate();
    const t0 = world.time.nowMs;
    const incidentCalls: Call[] = [call(world, 0, 'a')];
    callLater(world, 20, 1, 'b', incidentCalls);
    callLater(world, 20, 2, 'c', incidentCalls);
    if (jump !== undefined) world.time.scheduler.setTimeout(() => world.clocks[jump.index]!.jump(jump.ms), jump.atMs);
    await world.time.run({ untilMs: t0 + 20 });
    await settleCalls(world, incidentCalls);
    calls.push(...incidentCalls);
    return { world, calls, incidentCalls, seq, t0 };
  }

  it('skew within maxClockSkewMs (holder −500 ms, followers +500 ms): no take-over, exactly one POST /auth', async () => {
    // Followers see the holder's lease end 1000 ms early, exactly the tolerated skew.
    // Expected: 1 POST /auth, 0 take-overs, 0 fenced, all delivered.
    const { world, calls, incidentCalls, seq } = await incident([-500, 500, 500]);
    expect(world.authCalls()).toBe(2);
    expect(eventsOf(world, 'takeover')).toHaveLength(0);
    expect(eventsOf(world, 'fenced')).toHaveLength(0);
    expect(appliedWrites(world, 'claim', seq).map((e) => e.request.set.leaseHolder)).toEqual(['i0']);
    expect(incidentCalls.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('skew beyond maxClockSkewMs (a follower 2500 ms ahead): no premature take-over, one POST /auth per incident, a CLOCK_SKEW alarm', async () => {
    // The fast follower sees every fresh lease already 500 ms past its end + skew allowance. It used to take
    // it over at once (2 POST /auth per incident, the holder fenced). A lease first seen less than a lease
    // ago is now judged on the follower's own clock: the holder publishes first, and the follower, having
    // seen a lease it judged expired move on, raises CLOCK_SKEW (cold start and incident: one each).
    // Expected: 1 POST /auth per incident, no take-over, no fence, all delivered.
    const { world, calls, incidentCalls } = await incident([0, 2_500, 0]);
    expect(world.authCalls()).toBe(1 + 1);
    expect(eventsOf(world, 'takeover')).toHaveLength(0);
    expect(eventsOf(world, 'fenced')).toHaveLength(0);
    const alarms = eventsOf(world, 'alarm');
    expect(alarms.map((a) => [a.instanceId, a.code])).toEqual([
      ['i1', 'CLOCK_SKEW'],
      ['i1', 'CLOCK_SKEW'],
    ]);
    expect(incidentCalls.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('a follower clock jumps +500 ms while the holder refreshes: no take-over, one POST /auth', async () => {
    // Expected: the jump stays within the skew allowance: 1 POST /auth, 0 take-overs.
    const { world, calls, incidentCalls } = await incident([0, 0, 0], { index: 1, ms: 500, atMs: 200 });
    expect(world.authCalls()).toBe(2);
    expect(eventsOf(world, 'takeover')).toHaveLength(0);
    expect(incidentCalls.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('a follower clock jumps +5000 ms while the holder refreshes: at most one extra POST /auth, the right token wins', async () => {
    // The jump exceeds lease + skew, so the follower's own-clock rule fires at once. Expected: 1
    // take-over by i1, holder fenced (its next heartbeat is refused, so its POST /auth is aborted
    // and nothing is published by it), 2 POST /auth for the incident, stored token accepted.
    const { world, calls, incidentCalls } = await incident([0, 0, 0], { index: 1, ms: 5_000, atMs: 200 });
    expect(world.authCalls()).toBe(1 + 2);
    expect(eventsOf(world, 'takeover').map((e) => e.instanceId)).toEqual(['i1']);
    expect(world.coordinators[0]!.stats()).toMatchObject({ fencedWrites: 1, fencedPublishes: 0 });
    expect(eventsOf(world, 'fenced').map((e) => (e.type === 'fenced' ? e.intent : ''))).toEqual(['renew']);
    expect(incidentCalls.every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });
});

describe('Variants — invalidations mid-refresh, incidents back to back, large fleets, shared ids', () => {
  it('an outside POST /auth lands between the holder’s POST /auth and its publish: exactly one more refresh, an alarm, nothing lost', async () => {
    // Expected: the freshly published token is already dead; the callers' 401 on it raises
    // FRESH_TOKEN_REJECTED (once per instance) and causes exactly one more refresh: 2 POST /auth for the incident;
    // every message delivered (within maxAttempts = 3); stored token accepted.
    const world = new World({ instances: 4, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, range(4));
    const t0 = world.time.nowMs;
    world.api.invalidate();
    const incident = range(4).map((i) => call(world, i, `m-${i}`));
    // The holder's POST /auth reaches the server at ~t0+172 and its publish lands at ~t0+327.
    let midRefresh = false;
    world.time.scheduler.setTimeout(() => {
      midRefresh = world.authCalls() === 2 && world.store.snapshot()?.leaseId !== undefined && world.store.snapshot()?.generation === 1;
      world.api.invalidate();
    }, 250);
    await settleCalls(world, incident);
    calls.push(...incident);
    expect(midRefresh).toBe(true);
    expect(world.api.stats().invalidations).toBe(2);
    expect(world.authCalls()).toBe(1 + 2);
    // Each of the 4 instances saw the fresh token rejected once: 4 alarms, 8 rejections (gen 1 and gen 2).
    const alarms = eventsOf(world, 'alarm');
    expect(alarms.every((a) => a.code === 'FRESH_TOKEN_REJECTED')).toBe(true);
    expect(alarms.map((a) => a.instanceId).sort()).toEqual(['i0', 'i1', 'i2', 'i3']);
    expect(world.api.stats().rejections).toBe(8);
    expect(incident.every((c) => c.ok)).toBe(true);
    expect(Math.max(...incident.map((c) => c.endMs!)) - t0).toBeLessThanOrEqual(2 * (2 + 20 + 300 + 10) + POLL_MAX_MS + 30);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('two incidents back to back (the second 50 ms after the first settled): one POST /auth each, alarms only for the fresh token', async () => {
    // Expected: incident 1 → 1 POST /auth, no alarm (token 10 s old); incident 2 hits a token
    // published < 2 s ago → 1 POST /auth, one FRESH_TOKEN_REJECTED alarm per instance (6);
    // everything delivered; stored token accepted.
    const world = new World({ instances: 6, authMs: 300, ddbMs: 10 });
    const calls = await warm(world, range(6));
    world.api.invalidate();
    const first = range(6).map((i) => call(world, i, `first-${i}`));
    await settleCalls(world, first);
    expect(world.authCalls()).toBe(2);
    expect(eventsOf(world, 'alarm')).toHaveLength(0);
    world.time.nowMs += 50;
    const alarmsFrom = world.events.length;
    world.api.invalidate();
    const second = range(6).map((i) => call(world, i, `second-${i}`));
    await settleCalls(world, second);
    calls.push(...first, ...second);
    expect(world.authCalls()).toBe(3);
    const alarms = eventsOf(world, 'alarm', alarmsFrom);
    expect(alarms.map((a) => a.instanceId).sort()).toEqual(['i0', 'i1', 'i2', 'i3', 'i4', 'i5']);
    expect([...first, ...second].every((c) => c.ok)).toBe(true);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('64 instances with clocks spread over ±500 ms, all rejected within 3 ms: one POST /auth, all served within auth + two polls + a few ddb', async () => {
    // Expected: 1 POST /auth, 1 claim applied, 64 messages delivered, the last one within
    // 2 + 20 + 300 + 10 + 2 × 125 + 20 ms of the incident.
    const skewMs = range(64).map((i) => Math.round(-500 + (1_000 * i) / 63));
    const world = new World({ instances: 64, authMs: 300, ddbMs: 10, skewMs });
    const calls = await warm(world, range(64));
    const seq = lastSeq(world);
    const t0 = world.time.nowMs;
    world.api.invalidate();
    const incident: Call[] = [];
    for (const i of range(64)) callLater(world, i % 4, i, `m-${i}`, incident);
    await world.time.run({ untilMs: t0 + 3 });
    await settleCalls(world, incident);
    calls.push(...incident);
    expect(world.authCalls()).toBe(2);
    expect(appliedWrites(world, 'claim', seq)).toHaveLength(1);
    expect(eventsOf(world, 'takeover')).toHaveLength(0);
    expect(incident.every((c) => c.ok)).toBe(true);
    expect(Math.max(...incident.map((c) => c.endMs!)) - t0).toBeLessThanOrEqual(2 + 20 + 300 + 10 + 2 * POLL_MAX_MS + 20);
    expectConverged(world);
    expectHealthy(world, calls);
  });

  it('fixed bug: two processes configured with the same instanceId still get distinct lease ids — one refresh', async () => {
    // instanceId is documented only as "name of this instance in the item, logs and events"; a
    // natural choice such as the function name is shared by every instance. Expected (what the
    // protocol promises whatever the names): 1 POST /auth for a cold start of 3 instances, every
    // message delivered. Actual: lease ids are `${instanceId}#${counter}`, so every instance's
    // first lease is "bot#1"; the losers of the claim see "their" lease id in the item and act as
    // holders: 3 POST /auth per round, the first publish wins with a token the later POST /auth
    // already killed, the others are fenced onto it; 9 POST /auth and every call ends in
    // AttemptsExhaustedError. See the report (bug 2).
    const world = new World({ instances: 3, authMs: 300, ddbMs: 10, coordinator: { instanceId: 'bot' } });
    const calls = range(3).map((i) => call(world, i, `m-${i}`));
    await settleCalls(world, calls);
    expect(world.authCalls()).toBe(1);
    expect(calls.every((c) => c.ok)).toBe(true);
    expectConverged(world);
  });
});
