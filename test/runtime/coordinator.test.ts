import { describe, expect, it } from 'vitest';
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import {
  AttemptsExhaustedError,
  InvalidOptionsError,
  IssuerRefusedError,
  IssuerUnavailableError,
  TokenRejectedError,
  TokenUnavailableError,
} from '../../src/runtime/errors.js';
import { MemoryTokenStore } from '../../src/runtime/memory-store.js';
import { SECRET, World, tokenOf } from '../support/world.js';

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('coordinator on a memory store, in virtual time', () => {
  it('cold start on an empty table: exactly one POST /auth, everyone gets the same token', async () => {
    const world = new World({ instances: 10 });
    const sends = world.coordinators.map((_, i) => world.send(i, `m-${i}`));
    const outcome = await world.time.settle(Promise.all(sends));
    expect(outcome.ok).toBe(true);
    expect(world.authCalls()).toBe(1);
    expect(world.api.stats().messagesAccepted).toBe(10);
    expect(world.store.snapshot()?.token).toBe(tokenOf(1));
    expect(world.store.snapshot()?.generation).toBe(1);
    expect(world.store.snapshot()?.leaseId).toBeUndefined();
  });

  it('warm path: a second call makes zero store calls', async () => {
    const world = new World({ instances: 1 });
    await world.time.settle(world.send(0, 'first'));
    const before = world.coordinators[0]!.stats();
    await world.time.settle(world.send(0, 'second'));
    const after = world.coordinators[0]!.stats();
    expect(after.storeReads - before.storeReads).toBe(0);
    expect(after.storeWrites - before.storeWrites).toBe(0);
    expect(after.cacheHits - before.cacheHits).toBe(1);
  });

  it('an instance cold-starting while a token is stored uses it: zero POST /auth (S1)', async () => {
    const world = new World({ instances: 4 });
    await world.time.settle(Promise.all([0, 1, 2, 3].map((i) => world.send(i, `warm-${i}`))));
    expect(world.authCalls()).toBe(1);
    const late = world.addInstance(0, Math.random);
    expect(late).toBeDefined();
    const outcome = await world.time.settle(world.send(4, 'cold'));
    expect(outcome.ok).toBe(true);
    expect(world.authCalls()).toBe(1);
  });

  it('outside invalidation: one refresh for the fleet, every instance converges, messages delivered once', async () => {
    const world = new World({ instances: 8 });
    await world.time.settle(Promise.all(world.coordinators.map((_, i) => world.send(i, `a-${i}`))));
    world.time.nowMs += 10_000;
    world.api.invalidate();
    const outcome = await world.time.settle(Promise.all(world.coordinators.map((_, i) => world.send(i, `b-${i}`))));
    expect(outcome.ok).toBe(true);
    // 1 bootstrap + 1 refresh (the outside invalidation is not the fleet's)
    expect(world.authCalls()).toBe(2);
    expect(world.api.stats().invalidations).toBe(1);
    expect(world.store.snapshot()?.token).toBe(world.acceptedToken());
    expect(world.api.stats().messagesAccepted).toBe(16);
    expect(world.api.stats().duplicates).toBe(0);
    const claimsWon = world.coordinators.reduce((sum, c) => sum + c.stats().claimsWon, 0);
    expect(claimsWon).toBe(2);
  });

  it('in-process single flight: 50 concurrent calls that see one rejection cause one refresh', async () => {
    const world = new World({ instances: 1 });
    await world.time.settle(world.send(0, 'warm'));
    world.time.nowMs += 10_000;
    world.api.invalidate();
    const outcome = await world.time.settle(Promise.all(ids('burst', 50).map((id) => world.send(0, id))));
    expect(outcome.ok).toBe(true);
    expect(world.authCalls()).toBe(2);
    expect(world.coordinators[0]!.stats().claimsWon).toBe(2);
    expect(world.api.stats().messagesAccepted).toBe(51);
  });

  it('other errors from fn propagate unchanged and trigger no refresh', async () => {
    const world = new World({ instances: 1 });
    await world.time.settle(world.send(0, 'warm'));
    const boom = new RangeError('not a token problem');
    const outcome = await world.time.settle(
      world.coordinators[0]!.withToken(async () => {
        throw boom;
      }),
    );
    expect(outcome).toEqual({ ok: false, error: boom });
    expect(world.authCalls()).toBe(1);
    expect(world.coordinators[0]!.stats().rejections).toBe(0);
  });

  it('fn is called at most maxAttempts times, then AttemptsExhaustedError', async () => {
    const world = new World({ instances: 1, coordinator: { maxAttempts: 2 } });
    let calls = 0;
    const outcome = await world.time.settle(
      world.coordinators[0]!.withToken(async () => {
        calls += 1;
        throw new TokenRejectedError();
      }),
    );
    expect(calls).toBe(2);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toBeInstanceOf(AttemptsExhaustedError);
    expect(world.authCalls()).toBe(2);
  });

  it('a caller out of attempts still marks its token rejected: the next call refreshes instead of reusing it (found by the property suite)', async () => {
    const world = new World({ instances: 1, coordinator: { maxAttempts: 1 } });
    await world.time.settle(world.send(0, 'warm'));
    world.time.nowMs += 10_000;
    world.api.invalidate();
    const first = await world.time.settle(world.send(0, 'rejected-once'));
    expect(!first.ok && first.error).toBeInstanceOf(AttemptsExhaustedError);
    expect(world.coordinators[0]!.state()).toBe('idle');
    expect(world.authCalls()).toBe(1); // no refresh while nobody waits
    const second = await world.time.settle(world.send(0, 'next'));
    expect(second.ok).toBe(true);
    expect(world.authCalls()).toBe(2);
  });

  it('a waiting caller never outlives its deadline: TokenUnavailableError(deadline)', async () => {
    const world = new World({ instances: 2, authMs: 5_000 });
    const holder = world.send(0, 'holder');
    await world.time.run({ untilMs: world.time.nowMs + 100 });
    const startMs = world.time.nowMs;
    const outcome = await world.time.settle(world.send(1, 'follower', { deadlineMs: startMs + 1_000 }));
    expect(outcome.ok).toBe(false);
    const error = !outcome.ok ? outcome.error : undefined;
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).reason).toBe('deadline');
    expect(world.time.nowMs - startMs).toBeLessThanOrEqual(1_000);
    expect((await world.time.settle(holder)).ok).toBe(true);
    expect(world.authCalls()).toBe(1);
  });

  it('an abort signal ends the wait at once', async () => {
    const world = new World({ instances: 1, authMs: 5_000 });
    const controller = new AbortController();
    const call = world.coordinators[0]!.withToken(async (t) => t, { signal: controller.signal });
    await world.time.run({ untilMs: world.time.nowMs + 50 });
    controller.abort();
    const outcome = await world.time.settle(call);
    expect(!outcome.ok && (outcome.error as TokenUnavailableError).reason).toBe('aborted');
  });

  it('proactive refresh before expiry: one instance refreshes, callers are never blocked', async () => {
    const world = new World({ instances: 3, tokenTtlMs: 120_000, coordinator: { refreshMarginMs: 60_000 } });
    await world.time.settle(Promise.all([0, 1, 2].map((i) => world.send(i, `a-${i}`))));
    expect(world.authCalls()).toBe(1);
    world.time.nowMs += 100_000; // 20 s before expiry: inside every instance's jittered margin
    const outcome = await world.time.settle(Promise.all([0, 1, 2].map((i) => world.send(i, `b-${i}`))));
    expect(outcome.ok).toBe(true);
    await world.time.run({ untilMs: world.time.nowMs + 2_000 });
    expect(world.authCalls()).toBe(2);
    expect(world.api.stats().messagesAccepted).toBe(6);
    const outcome2 = await world.time.settle(Promise.all([0, 1, 2].map((i) => world.send(i, `c-${i}`))));
    expect(outcome2.ok).toBe(true);
    expect(world.authCalls()).toBe(2);
    expect(world.store.snapshot()?.token).toBe(world.acceptedToken());
  });

  it('refused credentials are recorded with a back-off; callers get IssuerRefusedError; POST /auth stays bounded (S8)', async () => {
    const world = new World({ instances: 20 });
    world.api.authMode = 'refuse';
    const first = await world.time.settle(Promise.allSettled(world.coordinators.map((_, i) => world.send(i, `m-${i}`))));
    expect(first.ok).toBe(true);
    const results = first.ok ? first.value : [];
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof IssuerRefusedError)).toBe(true);
    const error = (results[0] as PromiseRejectedResult).reason as IssuerRefusedError;
    expect(error.message).toMatch(/refused the credentials/);
    expect(error.message).not.toContain(SECRET);
    expect(world.authCalls()).toBe(1);
    expect(world.store.snapshot()?.failureCode).toBe('ISSUER_REFUSED');
    // More traffic inside the back-off window: still no POST /auth.
    await world.time.settle(Promise.allSettled(world.coordinators.map((_, i) => world.send(i, `n-${i}`))));
    expect(world.authCalls()).toBe(1);
    // After the back-off, the secret is fixed: one refresh and the fleet recovers.
    world.api.authMode = 'ok';
    world.time.nowMs += 6_000;
    const recovered = await world.time.settle(Promise.all(world.coordinators.map((_, i) => world.send(i, `o-${i}`))));
    expect(recovered.ok).toBe(true);
    expect(world.authCalls()).toBe(2);
    expect(world.store.snapshot()?.failureCode).toBeUndefined();
  });

  it('issuer 500: retried under the same lease, bounded, then IssuerUnavailableError (S6)', async () => {
    const world = new World({ instances: 1 });
    world.api.authMode = 'error-500';
    const outcome = await world.time.settle(world.send(0, 'm'));
    expect(!outcome.ok && outcome.error).toBeInstanceOf(IssuerUnavailableError);
    expect(world.authCalls()).toBe(3);
    expect(world.store.snapshot()?.leaseId).toBeUndefined();
  });

  it('issuer answer lost after issuing: the next attempt under the same lease wins (S6)', async () => {
    const world = new World({ instances: 3 });
    world.api.authMode = 'drop-after-issue';
    const sends = Promise.all([0, 1, 2].map((i) => world.send(i, `m-${i}`)));
    await world.time.run({ untilMs: world.time.nowMs + 200 });
    world.api.authMode = 'ok';
    const outcome = await world.time.settle(sends);
    expect(outcome.ok).toBe(true);
    expect(world.authCalls()).toBe(2);
    expect(world.store.snapshot()?.token).toBe(world.acceptedToken());
  });

  it('a claim applied but its response lost: the instance recognises its own lease (S7)', async () => {
    const world = new World({ instances: 3 });
    let lost = 0;
    world.loseWriteResponse = (request) => request.intent === 'claim' && lost++ === 0;
    const outcome = await world.time.settle(Promise.all([0, 1, 2].map((i) => world.send(i, `m-${i}`))));
    expect(outcome.ok).toBe(true);
    expect(lost).toBeGreaterThan(0);
    expect(world.authCalls()).toBe(1);
    expect(world.events.filter((e) => e.type === 'takeover')).toHaveLength(0);
  });

  it('holder crashes between POST /auth and publish: one successor takes over (S4)', async () => {
    const world = new World({ instances: 5, authMs: 150, coordinator: { leaseMs: 2_000 } });
    world.faults[0]!.crashAfterIssue = true;
    const holder = world.send(0, 'doomed');
    await world.time.run({ untilMs: world.time.nowMs + 20 });
    const startMs = world.time.nowMs;
    const outcome = await world.time.settle(Promise.all([1, 2, 3, 4].map((i) => world.send(i, `m-${i}`))));
    expect(outcome.ok).toBe(true);
    expect(world.authCalls()).toBe(2);
    expect(world.events.filter((e) => e.type === 'takeover')).toHaveLength(1);
    // lease + skew allowance + auth + a few store round trips
    expect(world.time.nowMs - startMs).toBeLessThanOrEqual(2_000 + 1_000 + 150 + 200);
    void holder;
  });

  it('holder stalls past its lease: fenced publish, adopts the stored token, at most 3 POST /auth (S3)', async () => {
    const world = new World({ instances: 2, authMs: 300, coordinator: { leaseMs: 2_000 } });
    world.faults[0]!.stallIssuerMs = 3_000 + 1_000;
    const sends = [world.send(0, 'stalled')];
    await world.time.run({ untilMs: world.time.nowMs + 50 });
    sends.push(world.send(1, 'other'));
    const outcome = await world.time.settle(Promise.all(sends));
    expect(outcome.ok).toBe(true);
    expect(world.authCalls()).toBeLessThanOrEqual(3);
    expect(world.coordinators[0]!.stats().fencedPublishes).toBe(1);
    expect(world.store.snapshot()?.token).toBe(world.acceptedToken());
    expect(world.api.stats().messagesAccepted).toBe(2);
  });
});

describe('options are validated at construction', () => {
  const store = new MemoryTokenStore();
  const issueToken = async () => ({ token: 't' });
  it.each([
    ['leaseMs', { leaseMs: -1 }],
    ['leaseMs', { leaseMs: 1.5 }],
    ['maxAttempts', { maxAttempts: 0 }],
    ['pollMs', { pollMs: 0 }],
    ['refreshMarginMs', { refreshMarginMs: -5 }],
    ['maxClockSkewMs', { maxClockSkewMs: 20_000 }],
    ['clock', { clock: {} }],
    ['logger', { logger: { info() {} } }],
    ['instanceId', { instanceId: 'has spaces' }],
  ])('rejects a bad %s', (option, extra) => {
    try {
      createTokenCoordinator({ store, issueToken, ...(extra as object) });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).option).toBe(option);
      expect((error as Error).message).toContain(option);
    }
  });
  it('rejects an unknown option (a typo would otherwise be ignored silently)', () => {
    try {
      createTokenCoordinator({ store, issueToken, leasMs: 5_000 } as never);
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidOptionsError).option).toBe('leasMs');
      expect((error as Error).message).toMatch(/unknown option leasMs.*leaseMs/);
    }
  });
  it('requires store and issueToken', () => {
    expect(() => createTokenCoordinator({ issueToken } as never)).toThrow(/store is required/);
    expect(() => createTokenCoordinator({ store } as never)).toThrow(/issueToken is required/);
  });
});
