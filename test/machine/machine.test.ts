import { initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { batonMachine, STATES } from '../../src/machine/machine.js';
import type { ProtocolConfig } from '../../src/machine/config.js';
import { MACHINE_TEST_CONFIG } from './config.js';
import type { TokenRecord } from '../../src/machine/record.js';
import type { Effect, MachineEvent } from '../../src/machine/types.js';

const config = MACHINE_TEST_CONFIG;

type Snapshot = ReturnType<typeof initialTransition<typeof batonMachine>>[0];

/** Steps the pure machine, remembering every state and effect. */
class Driver {
  snapshot: Snapshot;
  effects: Effect[] = [];
  readonly visited = new Set<string>();
  constructor(instanceId = 'a', overrides: Partial<ProtocolConfig> = {}) {
    [this.snapshot] = initialTransition(batonMachine, { config: { ...config, ...overrides }, instanceId, nonce: 'n0', nowMs: 0 });
    this.visited.add(this.state);
  }
  get state(): string {
    return String(this.snapshot.value);
  }
  get requestId(): number {
    return this.snapshot.context.requestId;
  }
  send(event: MachineEvent): Effect[] {
    const [next, actions] = transition(batonMachine, this.snapshot, event);
    this.snapshot = next;
    this.visited.add(this.state);
    // The transient states are passed through within one step: record them from the effects' order.
    this.effects = (actions as unknown as Effect[]).filter((a) => !String(a.type).startsWith('xstate.'));
    for (const effect of this.effects) if (effect.type === 'failWaiters') this.visited.add(STATES.failing);
    return this.effects;
  }
  effect<T extends Effect['type']>(type: T): Extract<Effect, { type: T }> {
    const found = this.effects.find((e) => e.type === type);
    if (found === undefined) throw new Error(`expected effect ${type}, got ${this.effects.map((e) => e.type).join(', ')}`);
    return found as Extract<Effect, { type: T }>;
  }
}

const record = (fields: Partial<TokenRecord>): TokenRecord => ({ schemaVersion: 1, revision: 1, generation: 1, ...fields });

describe('the pure protocol machine', () => {
  it('performs no effect by itself and starts idle', () => {
    const driver = new Driver();
    expect(driver.state).toBe('idle');
  });

  it('cold start: read, claim (item absent), refresh, publish, deliver', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 10 });
    expect(d.state).toBe('reading');
    expect(d.effect('readRecord').params.consistent).toBe(true);
    d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 20 });
    expect(d.state).toBe('claiming');
    const claim = d.effect('writeRecord').params.request;
    expect(claim.intent).toBe('claim');
    expect(claim.condition).toEqual({ exists: false });
    const leaseId = claim.set.leaseId!;
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId, revision: 1 }), nowMs: 30 });
    expect(d.state).toBe('refreshing');
    const call = d.effect('callIssuer').params;
    expect(call.leaseId).toBe(leaseId);
    expect(call.abortAfterMs).toBe(1_000 * 0.8 - 10); // lease started when the claim was sent (t=20)
    d.send({ type: 'ISSUED', requestId: d.requestId, token: 'T1', nowMs: 330 });
    expect(d.state).toBe('publishing');
    const publish = d.effect('writeRecord').params.request;
    expect(publish.condition).toEqual({ exists: true, leaseId });
    expect(publish.set).toMatchObject({ token: 'T1', generation: 1 });
    expect(publish.remove).toContain('leaseId');
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 1, token: 'T1', tokenIssuedAtMs: 330, revision: 2 }), nowMs: 340 });
    expect(d.state).toBe('using');
    expect(d.effect('deliverToken').params).toMatchObject({ token: 'T1', generation: 1 });
  });

  it('claims only on the generation seen and only without a lease (I3)', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 4, token: 'T4' }), nowMs: 1 });
    expect(d.state).toBe('using');
    d.send({ type: 'TOKEN_REJECTED', token: 'T4', generation: 4, nowMs: 5_000 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 4, token: 'T4', revision: 7 }), nowMs: 5_001 });
    expect(d.state).toBe('claiming');
    expect(d.effect('writeRecord').params.request.condition).toEqual({ exists: true, generation: 4, leaseId: null });
  });

  it('adopts a newer token instead of refreshing', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 4, token: 'T4' }), nowMs: 1 });
    d.send({ type: 'TOKEN_REJECTED', token: 'T4', generation: 4, nowMs: 5_000 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 5, token: 'T5' }), nowMs: 5_001 });
    expect(d.state).toBe('using');
    expect(d.effect('deliverToken').params.token).toBe('T5');
  });

  it('waits on a live lease with a jittered poll, never past the staleness point, then takes over (I5)', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    const leased = record({ generation: 0, leaseId: 'b#1', leaseHolder: 'b', leaseExpiresAtMs: 1_000_000, revision: 3 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: leased, nowMs: 0 });
    expect(d.state).toBe('waiting');
    expect(d.effect('startTimer').params).toMatchObject({ delayMsMin: 38, delayMsMax: 63 });
    let now = 0;
    for (let i = 0; i < 40 && d.state === 'waiting'; i += 1) {
      now += 50;
      d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: now });
      d.send({ type: 'READ_OK', requestId: d.requestId, record: leased, nowMs: now });
    }
    expect(d.state).toBe('taking-over');
    expect(now).toBeGreaterThanOrEqual(1_100);
    expect(d.effect('writeRecord').params.request.condition).toEqual({ exists: true, leaseId: 'b#1', revision: 3 });
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: { ...leased, leaseId: 'a#1', revision: 4 }, nowMs: now + 5 });
    expect(d.state).toBe('refreshing');
    expect(d.effects.map((e) => e.type)).toContain('reportTakeover');
  });

  it('an operator-invalidated generation is refreshed, not adopted', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 4, token: 'T4', invalidatedGeneration: 4, revision: 9 }), nowMs: 1 });
    expect(d.state).toBe('claiming');
    expect(d.effect('writeRecord').params.request.condition).toEqual({ exists: true, generation: 4, leaseId: null });
  });

  it('does not trust the wall clock alone: a lease expired by this clock but first seen now is watched for one lease, then taken over', () => {
    // lease 1000, skew 100. The item's lease ended at 8_000 by its holder's clock; this clock says 10_000.
    // Either the holder crashed long ago, or this clock runs ahead: only watching tells them apart.
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 10_000 });
    const stale = record({ leaseId: 'b.x#1', leaseHolder: 'b', leaseExpiresAtMs: 8_000 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: stale, nowMs: 10_000 });
    expect(d.state).toBe('waiting');
    let now = 10_000;
    for (let i = 0; i < 40 && d.state === 'waiting'; i += 1) {
      now += 50;
      d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: now });
      d.send({ type: 'READ_OK', requestId: d.requestId, record: stale, nowMs: now });
    }
    // One lease of watching (not lease + skew: the wall clock agrees it is long over).
    expect(d.state).toBe('taking-over');
    expect(now).toBe(11_000);
    expect(d.effects.map((e) => e.type)).not.toContain('raiseAlarm');
  });

  it('a lease that looked expired by this clock but moved on while watched raises one CLOCK_SKEW alarm (and was not taken over)', () => {
    // This clock runs 5 s ahead of the holder's: the fresh lease (ends at 6_000 by the holder's clock) looks long
    // over at 10_000. The holder publishes 300 ms later: the wall-clock judgement was wrong.
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 10_000 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 0, leaseId: 'b.x#1', leaseHolder: 'b', leaseExpiresAtMs: 6_000 }), nowMs: 10_000 });
    expect(d.state).toBe('waiting');
    d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: 10_300 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 1, token: 'T2', revision: 3 }), nowMs: 10_300 });
    expect(d.state).toBe('using');
    const alarm = d.effect('raiseAlarm').params;
    expect(alarm.code).toBe('CLOCK_SKEW');
    expect(alarm.message).toMatch(/lease b\.x#1 of b was still worked on 4300 ms after its stated end/);
    expect(alarm.message).not.toContain('T2');
  });

  it('a fenced publish discards the token and adopts the stored one (I2)', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 1, token: 'T1' }), nowMs: 0 });
    d.send({ type: 'TOKEN_REJECTED', token: 'T1', generation: 1, nowMs: 5_000 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 1, token: 'T1' }), nowMs: 5_000 });
    const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 1, token: 'T1', leaseId }), nowMs: 5_001 });
    d.send({ type: 'ISSUED', requestId: d.requestId, token: 'T-late', nowMs: 9_000 });
    expect(d.state).toBe('publishing');
    d.send({ type: 'WRITE_REFUSED', requestId: d.requestId, current: record({ generation: 2, token: 'T2', revision: 9 }), nowMs: 9_001 });
    expect(d.state).toBe('using');
    expect(d.effects.map((e) => e.type)).toContain('reportFenced');
    expect(d.effect('deliverToken').params.token).toBe('T2');
    expect(d.snapshot.context.issued).toBeUndefined();
  });

  it('an ambiguous claim is read back; our own lease id makes us the holder (S7)', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
    const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
    d.send({ type: 'WRITE_AMBIGUOUS', requestId: d.requestId, nowMs: 10 });
    expect(d.state).toBe('waiting'); // a pause first: a brownout must not become a busy loop
    expect(d.effect('startTimer').params).toMatchObject({ delayMsMin: 38, delayMsMax: 63 });
    d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: 60 });
    expect(d.state).toBe('reading');
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 0, leaseId, leaseExpiresAtMs: 1_000 }), nowMs: 70 });
    expect(d.state).toBe('refreshing');
  });

  it('a read-back on the last round still recognises our lease: the round limit never forgets a held lease (I5a, explorer finding)', () => {
    // roundsMax 2: the claim is round 1, the pause before the read-back round 2, so the read-back's
    // decision is past the limit. It used to fail the callers and drop the lease the item names.
    const d = new Driver('a', { roundsMax: 2 });
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
    const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
    d.send({ type: 'WRITE_AMBIGUOUS', requestId: d.requestId, nowMs: 10 });
    d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: 60 });
    expect(d.snapshot.context.rounds).toBe(2);
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 0, leaseId, leaseExpiresAtMs: 1_000 }), nowMs: 70 });
    expect(d.state).toBe('refreshing');
    expect(d.snapshot.context.lease?.id).toBe(leaseId);
    // Someone else's lease at the same point: the limit applies as before.
    const e = new Driver('a', { roundsMax: 2 });
    e.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    e.send({ type: 'READ_OK', requestId: e.requestId, record: undefined, nowMs: 0 });
    e.send({ type: 'WRITE_AMBIGUOUS', requestId: e.requestId, nowMs: 10 });
    e.send({ type: 'TIMER', timerId: e.snapshot.context.timerId, nowMs: 60 });
    e.send({ type: 'READ_OK', requestId: e.requestId, record: record({ generation: 0, leaseId: 'b.x#1', leaseExpiresAtMs: 1_000 }), nowMs: 70 });
    expect(e.state).toBe('idle');
    expect(e.effect('failWaiters').params.failure.kind).toBe('round-limit');
  });

  it('an ambiguous publish is read back; our own token in the item means published', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
    const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId }), nowMs: 1 });
    d.send({ type: 'ISSUED', requestId: d.requestId, token: 'T1', nowMs: 100 });
    d.send({ type: 'WRITE_AMBIGUOUS', requestId: d.requestId, nowMs: 110 });
    d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: 160 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 1, token: 'T1' }), nowMs: 170 });
    expect(d.state).toBe('using');
    expect(d.effect('deliverToken').params.token).toBe('T1');
  });

  it('unknown issuer outcome: renew the lease and retry, bounded, then release (S6)', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
    const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId }), nowMs: 1 });
    d.send({ type: 'ISSUE_UNKNOWN', requestId: d.requestId, nowMs: 500 });
    expect(d.state).toBe('renewing');
    expect(d.effect('writeRecord').params.request).toMatchObject({ intent: 'renew', condition: { exists: true, leaseId } });
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId, revision: 2 }), nowMs: 510 });
    expect(d.state).toBe('refreshing');
    d.send({ type: 'ISSUE_UNKNOWN', requestId: d.requestId, nowMs: 900 });
    expect(d.state).toBe('releasing');
    expect(d.effect('writeRecord').params.request).toMatchObject({ intent: 'release', condition: { exists: true, leaseId } });
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, revision: 3 }), nowMs: 910 });
    expect(d.state).toBe('idle');
    expect(d.effect('failWaiters').params.failure.kind).toBe('issuer-unavailable');
  });

  it('reports what a decision settles: a claim won on a read-back, a publish found on a read-back, a renew fenced out', () => {
    // A claim whose answer was lost, recognised on the read-back: won (not lost).
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
    const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
    d.send({ type: 'WRITE_REFUSED', requestId: d.requestId, current: record({ generation: 0, leaseId }), nowMs: 10 });
    expect(d.effect('reportClaim').params).toEqual({ intent: 'claim', won: true });
    // The publish's answer is lost; the read-back finds our token: published.
    d.send({ type: 'ISSUED', requestId: d.requestId, token: 'T1', nowMs: 100 });
    d.send({ type: 'WRITE_AMBIGUOUS', requestId: d.requestId, nowMs: 110 });
    d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: 160 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 1, token: 'T1', revision: 3 }), nowMs: 170 });
    expect(d.effect('reportPublished').params).toEqual({ generation: 1, token: 'T1' });
    // A renew refused because another instance took the lease over: fenced (intent renew).
    const e = new Driver();
    e.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    e.send({ type: 'READ_OK', requestId: e.requestId, record: undefined, nowMs: 0 });
    const mine = e.effect('writeRecord').params.request.set.leaseId!;
    e.send({ type: 'WRITE_APPLIED', requestId: e.requestId, record: record({ generation: 0, leaseId: mine }), nowMs: 1 });
    expect(e.effect('reportClaim').params).toEqual({ intent: 'claim', won: true });
    e.send({ type: 'ISSUE_UNKNOWN', requestId: e.requestId, nowMs: 500 });
    expect(e.state).toBe('renewing');
    e.send({ type: 'WRITE_REFUSED', requestId: e.requestId, current: record({ generation: 0, leaseId: 'b.x#1', leaseExpiresAtMs: 2_000, revision: 4 }), nowMs: 510 });
    expect(e.effect('reportFenced').params).toEqual({ generation: 0, intent: 'renew' });
    expect(e.state).toBe('waiting');
  });

  it('calls POST /auth only with lease time left: a claim answered late renews first; renewals that stay slow release the lease', () => {
    // lease 1000 ms, abort at 80 %: a call needs ≥ 400 ms of its 800 ms budget. The claim is sent at 0
    // and answered at 500: 300 ms left, so no call (it would be aborted almost at once) but a renewal.
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
    const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId }), nowMs: 500 });
    expect(d.state).toBe('renewing');
    expect(d.effects.map((e) => e.type)).not.toContain('callIssuer');
    expect(d.effect('writeRecord').params.request).toMatchObject({ intent: 'renew', set: { leaseExpiresAtMs: 1_500 } });
    // The renewal answers in 10 ms: the whole budget from the renewal's send, and no attempt was spent.
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId, revision: 2 }), nowMs: 510 });
    expect(d.state).toBe('refreshing');
    expect(d.effect('callIssuer').params.abortAfterMs).toBe(790);
    expect(d.snapshot.context.issuerAttempts).toBe(1);
    // An unknown outcome, then renewals that each answer a lease later: two tries, then a plain release.
    d.send({ type: 'ISSUE_UNKNOWN', requestId: d.requestId, nowMs: 600 });
    let now = 600;
    for (let i = 0; i < 3; i += 1) {
      expect(d.state).toBe('renewing');
      d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId, revision: 3 + i }), nowMs: (now += 1_000) });
    }
    expect(d.state).toBe('releasing');
    const release = d.effect('writeRecord').params.request;
    expect(release).toMatchObject({ intent: 'release', condition: { exists: true, leaseId }, set: {} });
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, revision: 9 }), nowMs: now + 10 });
    expect(d.effect('failWaiters').params.failure).toMatchObject({ kind: 'store', code: 'STORE_UNAVAILABLE' });
  });

  it('an ambiguous release is read back: sent again while the item names our lease, done once it does not', () => {
    const d = new Driver('a', { issuerAttemptsMax: 1 });
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
    const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
    const leased = record({ generation: 0, leaseId, leaseExpiresAtMs: 1_000 });
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: leased, nowMs: 1 });
    d.send({ type: 'ISSUE_UNKNOWN', requestId: d.requestId, nowMs: 100 });
    expect(d.state).toBe('releasing');
    const release = d.effect('writeRecord').params.request;
    d.send({ type: 'WRITE_AMBIGUOUS', requestId: d.requestId, nowMs: 110 });
    expect(d.state).toBe('waiting');
    d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: 160 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: leased, nowMs: 170 });
    expect(d.state).toBe('releasing');
    expect(d.effect('writeRecord').params.request).toEqual(release);
    d.send({ type: 'WRITE_AMBIGUOUS', requestId: d.requestId, nowMs: 180 });
    d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: 300 });
    // Gone from the item (our release applied, or a takeover): nothing more to do; the callers learn why.
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 0, revision: 2, failureCode: 'ISSUER_UNAVAILABLE', backoffUntilMs: 1_100 }), nowMs: 310 });
    expect(d.state).toBe('idle');
    expect(d.effect('failWaiters').params.failure.kind).toBe('issuer-unavailable');
    expect(d.snapshot.context.lease).toBeUndefined();
  });

  it('refused credentials: record the failure with a back-off and fail waiters; then fail fast (S8)', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
    const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId }), nowMs: 1 });
    d.send({ type: 'ISSUE_REFUSED', requestId: d.requestId, status: 401, nowMs: 100 });
    expect(d.state).toBe('recording-failure');
    const write = d.effect('writeRecord').params.request;
    expect(write.set).toMatchObject({ failureCode: 'ISSUER_REFUSED', failureCount: 1, backoffUntilMs: 1_100, failureStatus: 401 });
    d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, failureCode: 'ISSUER_REFUSED', backoffUntilMs: 1_100 }), nowMs: 110 });
    expect(d.state).toBe('idle');
    expect(d.effect('failWaiters').params.failure).toMatchObject({ kind: 'issuer-refused', status: 401, backoffUntilMs: 1_100 });
    d.send({ type: 'TOKEN_NEEDED', nowMs: 200 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 0, failureCode: 'ISSUER_REFUSED', backoffUntilMs: 1_100 }), nowMs: 210 });
    expect(d.state).toBe('idle');
    expect(d.effect('failWaiters').params.failure.kind).toBe('issuer-refused');
  });

  it('a store failure fails the waiters and returns to idle', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_FAILED', requestId: d.requestId, code: 'STORE_MISCONFIGURED', message: 'table missing', cause: undefined, nowMs: 1 });
    expect(d.state).toBe('idle');
    expect(d.effect('failWaiters').params.failure).toMatchObject({ kind: 'store', code: 'STORE_MISCONFIGURED' });
  });

  it('ignores answers to requests it no longer waits for', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    const stale = d.requestId - 1;
    d.send({ type: 'READ_OK', requestId: stale, record: undefined, nowMs: 1 });
    expect(d.state).toBe('reading');
    expect(d.effects).toEqual([]);
  });

  it('ambiguous writes back off (growing pauses) and a few in a row fail the callers with the store reason', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ token: 'T1', invalidatedGeneration: 1 }), nowMs: 0 });
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 5 && d.state === 'claiming'; i += 1) {
      d.send({ type: 'WRITE_AMBIGUOUS', requestId: d.requestId, message: 'ThrottlingException', nowMs: (now += 1) });
      if ((d.state as string) !== 'waiting') break;
      delays.push(d.effect('startTimer').params.delayMsMax);
      d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: (now += 200) });
      d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ token: 'T1', invalidatedGeneration: 1 }), nowMs: (now += 1) });
    }
    expect(delays).toEqual([63, 125]);
    expect(d.state).toBe('idle');
    const failure = d.effect('failWaiters').params.failure;
    expect(failure).toMatchObject({ kind: 'store', code: 'STORE_UNAVAILABLE' });
    expect(failure.message).toMatch(/3 writes in a row .*unknown outcome.*ThrottlingException/);
  });

  it('stops polling when every caller has given up and it holds nothing', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ leaseId: 'b#1', leaseExpiresAtMs: 1_000_000 }), nowMs: 0 });
    expect(d.state).toBe('waiting');
    d.send({ type: 'CALLERS_GONE', nowMs: 10 });
    expect(d.state).toBe('idle');
    expect(d.effects).toEqual([]);
  });

  it('a fresh token rejected raises one alarm', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 3, token: 'T3', tokenIssuedAtMs: 0 }), nowMs: 1 });
    d.send({ type: 'TOKEN_REJECTED', token: 'T3', generation: 3, nowMs: 100 });
    expect(d.effect('raiseAlarm').params.code).toBe('FRESH_TOKEN_REJECTED');
    d.send({ type: 'TOKEN_REJECTED', token: 'T3', generation: 3, nowMs: 101 });
    expect(d.effects.map((e) => e.type)).not.toContain('raiseAlarm');
  });

  it('gives up after roundsMax decisions with a clear failure (I4)', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    let now = 0;
    let decisions = 0;
    for (let i = 0; i < 200 && d.state !== 'idle'; i += 1) {
      decisions += 1;
      // A lease that keeps being renewed: never stale, never ours.
      d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ leaseId: 'b#1', revision: 100 + i, leaseExpiresAtMs: now + 10_000 }), nowMs: now });
      now += 50;
      if (d.state === 'waiting') d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: now });
    }
    expect(d.state).toBe('idle');
    expect(d.effect('failWaiters').params.failure.kind).toBe('round-limit');
    expect(decisions).toBe(config.roundsMax + 1);
  });

  it('proactive refresh: keeps delivering the cached token while another instance refreshes', () => {
    const d = new Driver();
    d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 1, token: 'T1', tokenExpiresAtMs: 10_000 }), nowMs: 1 });
    d.send({ type: 'TOKEN_NEEDED', nowMs: 6_000 });
    expect(d.state).toBe('reading');
    expect(d.effect('deliverToken').params.token).toBe('T1');
    d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ generation: 1, token: 'T1', tokenExpiresAtMs: 10_000, leaseId: 'b#1' }), nowMs: 6_010 });
    expect(d.state).toBe('using');
    d.send({ type: 'TOKEN_NEEDED', nowMs: 6_020 });
    expect(d.state).toBe('using');
  });

  it('every state is reachable', () => {
    const all = new Set<string>(Object.values(STATES));
    const seen = new Set<string>();
    // Replay the scripted paths above and collect what they visited.
    const paths: Array<(d: Driver) => void> = [
      (d) => {
        d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
        d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
        const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
        d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId }), nowMs: 1 });
        d.send({ type: 'ISSUE_UNKNOWN', requestId: d.requestId, nowMs: 2 });
        d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId, revision: 2 }), nowMs: 3 });
        d.send({ type: 'ISSUE_UNKNOWN', requestId: d.requestId, nowMs: 4 });
        d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, revision: 3 }), nowMs: 5 });
      },
      (d) => {
        d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
        d.send({ type: 'READ_OK', requestId: d.requestId, record: undefined, nowMs: 0 });
        const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
        d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ generation: 0, leaseId }), nowMs: 1 });
        d.send({ type: 'ISSUE_REFUSED', requestId: d.requestId, status: 403, nowMs: 2 });
      },
      (d) => {
        d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
        d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ leaseId: 'x#1', leaseExpiresAtMs: 1_000_000 }), nowMs: 0 });
        d.send({ type: 'TIMER', timerId: d.snapshot.context.timerId, nowMs: 5_000 });
        d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ leaseId: 'x#1', leaseExpiresAtMs: 1_000_000 }), nowMs: 5_000 });
      },
      (d) => {
        d.send({ type: 'TOKEN_NEEDED', nowMs: 0 });
        d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ token: 'T' }), nowMs: 0 });
        d.send({ type: 'TOKEN_REJECTED', token: 'T', generation: 1, nowMs: 9_000 });
        d.send({ type: 'READ_OK', requestId: d.requestId, record: record({ token: 'T' }), nowMs: 9_000 });
        const leaseId = d.effect('writeRecord').params.request.set.leaseId!;
        d.send({ type: 'WRITE_APPLIED', requestId: d.requestId, record: record({ token: 'T', leaseId }), nowMs: 9_001 });
        d.send({ type: 'ISSUED', requestId: d.requestId, token: 'U', nowMs: 9_100 });
      },
    ];
    for (const path of paths) {
      const d = new Driver();
      path(d);
      for (const state of d.visited) seen.add(state);
      seen.add('deciding'); // transient: every READ_OK passes through it within the same step
    }
    expect([...all].filter((s) => !seen.has(s))).toEqual([]);
  });
});
