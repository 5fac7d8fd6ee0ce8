import { describe, expect, it } from 'vitest';
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import {
  AttemptsExhaustedError,
  InvalidOptionsError,
  IssuerRefusedError,
  IssuerUnavailableError,
  StoreUnavailableError,
  TokenRejectedError,
  TokenUnavailableError,
} from '../../src/runtime/errors.js';
import { MemoryTokenStore } from '../../src/runtime/memory-store.js';
import { VirtualTime } from '../support/virtual-time.js';
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

describe('stats and events count what the item shows', () => {
  it('a holder fenced out on its renew counts as fenced (fencedWrites, a `fenced` event with intent renew), not as a fenced publish', async () => {
    // Expected: i0's first POST /auth fails (500) and it renews its lease; just before the renew lands,
    // another holder takes the lease over. The renew is refused: fencedWrites 1, fencedPublishes 0, one
    // `fenced` event naming the renew. i0 then waits out the foreign lease (nobody works on it), takes it
    // over and delivers.
    const world = new World({ instances: 1, coordinator: { leaseMs: 2_000 } });
    world.api.authMode = 'error-500';
    world.listeners.push((event) => {
      if (event.type !== 'issuer-call' || event.outcome !== 'unknown') return;
      world.api.authMode = 'ok';
      const leaseId = world.store.snapshot()?.leaseId;
      if (leaseId === undefined) throw new Error('no lease to take over');
      void world.store.write({
        intent: 'take-over',
        condition: { exists: true, leaseId },
        set: { leaseId: 'other.n#1', leaseHolder: 'other', leaseAcquiredAtMs: world.time.nowMs, leaseExpiresAtMs: world.time.nowMs + 2_000 },
        remove: [],
      });
    });
    const outcome = await world.time.settle(world.send(0, 'm'));
    expect(outcome.ok).toBe(true);
    expect(world.coordinators[0]!.stats()).toMatchObject({ fencedWrites: 1, fencedPublishes: 0, takeovers: 1, claimsWon: 2, publishes: 1 });
    expect(world.events.filter((e) => e.type === 'fenced')).toMatchObject([{ type: 'fenced', intent: 'renew' }]);
  });

  it('a publish fenced out counts in both fencedPublishes and fencedWrites', async () => {
    const world = new World({ instances: 2, authMs: 300, coordinator: { leaseMs: 2_000 } });
    world.faults[0]!.stallIssuerMs = 3_000 + 1_000;
    const sends = [world.send(0, 'stalled')];
    await world.time.run({ untilMs: world.time.nowMs + 50 });
    sends.push(world.send(1, 'other'));
    expect((await world.time.settle(Promise.all(sends))).ok).toBe(true);
    expect(world.coordinators[0]!.stats()).toMatchObject({ fencedPublishes: 1, fencedWrites: 1 });
    expect(world.events.filter((e) => e.type === 'fenced')).toMatchObject([{ type: 'fenced', intent: 'publish' }]);
  });
});

describe('POST /auth only with lease time left (a renew slower than the lease)', () => {
  const LEASE_MS = 2_000;

  /** One instance on virtual time; its first POST /auth fails (500); its first `slowRenews` renewals take 1.2 leases. */
  function slowRenewWorld(slowRenews: number) {
    const time = new VirtualTime();
    let renews = 0;
    const store = new MemoryTokenStore({
      beforeOperation: (_operation, request) => time.sleep(request?.intent === 'renew' && renews++ < slowRenews ? LEASE_MS * 1.2 : 5),
    });
    const issuer = { calls: 0, aborted: 0, signalsAbortedAtCall: 0 };
    const coordinator = createTokenCoordinator({
      store,
      leaseMs: LEASE_MS,
      clock: time.clock(),
      scheduler: time.scheduler,
      random: () => 0.5,
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      issueToken: async ({ signal }) => {
        issuer.calls += 1;
        if (signal.aborted) issuer.signalsAbortedAtCall += 1;
        try {
          await time.sleep(100, signal);
        } catch (error) {
          issuer.aborted += 1;
          throw error;
        }
        if (issuer.calls === 1) throw new Error('POST /auth answered 500');
        return { token: `token-${issuer.calls}` };
      },
    });
    const call = coordinator.withToken(async (token) => token, { deadlineMs: time.nowMs + 20_000 });
    return { time, store, issuer, coordinator, call };
  }

  it('renews again instead of calling the issuer with no time left: no aborted call, no fleet-wide pause', async () => {
    // Expected: 500 → renew (answered after 1.2 leases: no budget left) → renew again (fast) → POST /auth
    // with a fresh budget → published. 2 POST /auth, none aborted, no ISSUER_UNAVAILABLE recorded.
    // Before the fix: the second POST /auth got abortAfterMs 0, was aborted at once and counted as an
    // unknown outcome.
    const world = slowRenewWorld(1);
    const outcome = await world.time.settle(world.call);
    expect(outcome.ok && outcome.value).toBe('token-2');
    expect(world.issuer).toEqual({ calls: 2, aborted: 0, signalsAbortedAtCall: 0 });
    expect(world.store.snapshot()).toMatchObject({ token: 'token-2', generation: 1 });
    expect(world.store.snapshot()?.failureCode).toBeUndefined();
    expect(world.store.history().filter((entry) => entry.request.intent === 'renew')).toHaveLength(2);
  });

  it('a store slower than the lease on every renewal: the lease is released without a pause, callers get StoreUnavailableError', async () => {
    // Expected: 500 → three renewals, each answered after 1.2 leases → release (lease fields only, no
    // failure fields or back-off: the issuer was not the problem). Before the fix: three POST /auth, two
    // aborted at once, and a fleet-wide ISSUER_UNAVAILABLE pause.
    const world = slowRenewWorld(Number.POSITIVE_INFINITY);
    const outcome = await world.time.settle(world.call);
    expect(!outcome.ok && outcome.error).toBeInstanceOf(StoreUnavailableError);
    expect((outcome as { error: Error }).error.message).toMatch(/slower than the refresh lease allows/);
    expect(world.issuer).toEqual({ calls: 1, aborted: 0, signalsAbortedAtCall: 0 });
    const item = world.store.snapshot();
    expect(item?.leaseId).toBeUndefined();
    expect(item?.failureCode).toBeUndefined();
    expect(item?.backoffUntilMs).toBeUndefined();
    expect(world.store.history().map((entry) => entry.request.intent)).toEqual(['claim', 'renew', 'renew', 'renew', 'release']);
  });
});

describe('an ambiguous release or failure record is read back', () => {
  it.each([
    ['release', 'POST /auth answers 500 three times', IssuerUnavailableError, 'ISSUER_UNAVAILABLE'],
    ['record-failure', 'POST /auth refuses the credentials', IssuerRefusedError, 'ISSUER_REFUSED'],
  ] as const)('a %s that never reached the store (%s) is sent again: the lease does not stay until stale', async (intent, _why, errorClass, failureCode) => {
    // Expected: the first `intent` write fails before reaching the store (outcome unknown to the instance);
    // after a pause the instance reads the item back, finds its lease still there and sends the write
    // again. The item ends without a lease and with the failure recorded; callers get the issuer's error.
    // Before the fix: the instance gave up at once and its lease stayed in the item for a whole lease.
    const time = new VirtualTime();
    let dropped = 0;
    const store = new MemoryTokenStore({
      beforeOperation: (_operation, request) => {
        if (request?.intent === intent && dropped++ === 0) throw new StoreUnavailableError('injected: the request never reached the store');
        return time.sleep(5);
      },
    });
    const coordinator = createTokenCoordinator({
      store,
      clock: time.clock(),
      scheduler: time.scheduler,
      random: () => 0.5,
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      issueToken: async () => {
        await time.sleep(50);
        if (intent === 'record-failure') throw new IssuerRefusedError('POST /auth answered 401', { status: 401 });
        throw new Error('POST /auth answered 500');
      },
    });
    const outcome = await time.settle(coordinator.withToken(async (token) => token));
    expect(!outcome.ok && outcome.error).toBeInstanceOf(errorClass);
    expect(dropped).toBe(2);
    const item = store.snapshot();
    expect(item?.leaseId).toBeUndefined();
    expect(item?.failureCode).toBe(failureCode);
    expect(store.history().filter((entry) => entry.request.intent === intent)).toHaveLength(1);
    expect(coordinator.state()).toBe('idle');
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
