import { initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { batonMachine } from '../../src/machine/machine.js';
import { HEARTBEATS_MAX } from '../../src/machine/config.js';
import { MACHINE_TEST_CONFIG } from './config.js';
import type { TokenRecord } from '../../src/machine/record.js';
import type { Effect, MachineEvent } from '../../src/machine/types.js';

// lease 1000 ms: the issuer is aborted 800 ms after the lease write was sent; heartbeats every 400 ms.
const config = MACHINE_TEST_CONFIG;

type Snapshot = ReturnType<typeof initialTransition<typeof batonMachine>>[0];

const record = (fields: Partial<TokenRecord>): TokenRecord => ({ schemaVersion: 1, revision: 1, generation: 0, ...fields });

/** A holder in `refreshing` under lease `leaseId`, claimed at t=0 and confirmed at t=10. */
function holder(): { send: (event: MachineEvent) => Effect[]; snapshot: () => Snapshot; leaseId: string } {
  let [snapshot] = initialTransition(batonMachine, { config, instanceId: 'a', nonce: 'n0', nowMs: 0 });
  let effects: Effect[] = [];
  const send = (event: MachineEvent): Effect[] => {
    const [next, actions] = transition(batonMachine, snapshot, event);
    snapshot = next;
    effects = (actions as unknown as Effect[]).filter((a) => !String(a.type).startsWith('xstate.'));
    return effects;
  };
  send({ type: 'TOKEN_NEEDED', nowMs: 0 });
  send({ type: 'READ_OK', requestId: snapshot.context.requestId, record: undefined, nowMs: 0 });
  const claim = effects.find((e) => e.type === 'writeRecord');
  if (claim?.type !== 'writeRecord' || claim.params.request.set.leaseId === undefined) throw new Error('expected a claim');
  const leaseId = claim.params.request.set.leaseId;
  send({ type: 'WRITE_APPLIED', requestId: snapshot.context.requestId, record: record({ leaseId, leaseExpiresAtMs: 1_000 }), nowMs: 10 });
  return { send, snapshot: () => snapshot, leaseId };
}

function only<T extends Effect['type']>(effects: Effect[], type: T): Extract<Effect, { type: T }> {
  const found = effects.filter((e) => e.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type}, got ${effects.map((e) => e.type).join(', ')}`);
  return found[0] as Extract<Effect, { type: T }>;
}

describe('heartbeats while POST /auth runs', () => {
  it('arms a heartbeat 40 % into the lease, renews under it and moves the issuer deadline with the renewed lease', () => {
    const h = holder();
    expect(String(h.snapshot().value)).toBe('refreshing');
    const issuerRequest = h.snapshot().context.requestId;
    const timerId = h.snapshot().context.timerId;
    // The claim was sent at t=0: heartbeat due at 400, i.e. 390 ms after the lease was confirmed.
    const armed = h.send({ type: 'TIMER', timerId: timerId - 1, nowMs: 20 }); // a stale poll timer: ignored
    expect(armed).toEqual([]);
    const beat = only(h.send({ type: 'TIMER', timerId, nowMs: 400 }), 'renewLease');
    expect(String(h.snapshot().value)).toBe('refreshing');
    expect(beat.params.request).toEqual({
      intent: 'renew',
      condition: { exists: true, leaseId: h.leaseId },
      set: { leaseExpiresAtMs: 1_400 },
      remove: [],
    });
    // A second timer firing while one heartbeat is in flight sends nothing.
    expect(h.send({ type: 'TIMER', timerId, nowMs: 410 }).filter((e) => e.type === 'renewLease')).toEqual([]);
    const applied = h.send({ type: 'HEARTBEAT_APPLIED', heartbeatId: beat.params.heartbeatId, record: record({ leaseId: h.leaseId, revision: 2 }), nowMs: 420 });
    // Aborted 800 ms after the heartbeat was sent (at 1200), i.e. 780 ms from now.
    expect(only(applied, 'extendIssuerDeadline').params).toEqual({ requestId: issuerRequest, abortAfterMs: 780 });
    expect(only(applied, 'startTimer').params).toMatchObject({ delayMsMin: 380, delayMsMax: 380 });
    expect(h.snapshot().context.lease).toMatchObject({ id: h.leaseId, startedAtMs: 400, expiresAtMs: 1_400 });
    // The slow issuer answers at last: publish under the same lease.
    const publish = only(h.send({ type: 'ISSUED', requestId: issuerRequest, token: 'T1', nowMs: 1_100 }), 'writeRecord');
    expect(publish.params.request.condition).toEqual({ exists: true, leaseId: h.leaseId });
    expect(String(h.snapshot().value)).toBe('publishing');
  });

  it('a refused heartbeat means a takeover: the issuer call is aborted, the renewal reported fenced, and the stored item followed', () => {
    const h = holder();
    const issuerRequest = h.snapshot().context.requestId;
    const beat = only(h.send({ type: 'TIMER', timerId: h.snapshot().context.timerId, nowMs: 400 }), 'renewLease');
    const taken = record({ leaseId: 'b.x#1', leaseHolder: 'b', leaseExpiresAtMs: 2_000, revision: 5 });
    const effects = h.send({ type: 'HEARTBEAT_REFUSED', heartbeatId: beat.params.heartbeatId, current: taken, nowMs: 450 });
    expect(only(effects, 'abortIssuer').params).toEqual({ requestId: issuerRequest });
    expect(only(effects, 'reportFenced').params).toEqual({ generation: 0, intent: 'renew' });
    expect(String(h.snapshot().value)).toBe('waiting');
    expect(h.snapshot().context.lease).toBeUndefined();
    // The aborted call's answer, and a late heartbeat answer, are ignored.
    expect(h.send({ type: 'ISSUED', requestId: issuerRequest, token: 'T9', nowMs: 460 })).toEqual([]);
    expect(h.send({ type: 'HEARTBEAT_APPLIED', heartbeatId: beat.params.heartbeatId, record: taken, nowMs: 470 })).toEqual([]);
    expect(String(h.snapshot().value)).toBe('waiting');
  });

  it('an unknown heartbeat outcome keeps the old deadline and retries after a poll without spending the budget; at most HEARTBEATS_MAX applied per episode', () => {
    const h = holder();
    let now = 400;
    const first = only(h.send({ type: 'TIMER', timerId: h.snapshot().context.timerId, nowMs: now }), 'renewLease');
    const unknown = h.send({ type: 'HEARTBEAT_UNKNOWN', heartbeatId: first.params.heartbeatId, nowMs: (now += 5) });
    expect(unknown.map((e) => e.type)).toEqual(['startTimer']);
    expect(only(unknown, 'startTimer').params).toMatchObject({ delayMsMin: config.pollMs, delayMsMax: config.pollMs });
    expect(h.snapshot().context.heartbeats).toBe(0);
    let applied = 0;
    for (;;) {
      const effects = h.send({ type: 'TIMER', timerId: h.snapshot().context.timerId, nowMs: (now += 50) });
      const beat = effects.find((e) => e.type === 'renewLease');
      if (beat?.type !== 'renewLease') break;
      const next = h.send({ type: 'HEARTBEAT_APPLIED', heartbeatId: beat.params.heartbeatId, record: record({ leaseId: h.leaseId, revision: 2 + applied }), nowMs: now });
      applied += 1;
      // The last one moves the deadline but arms no further heartbeat.
      if (applied === HEARTBEATS_MAX) expect(next.map((e) => e.type)).toEqual(['extendIssuerDeadline']);
      expect(applied).toBeLessThanOrEqual(HEARTBEATS_MAX);
    }
    expect(applied).toBe(HEARTBEATS_MAX);
    expect(String(h.snapshot().value)).toBe('refreshing');
    // Aborted with every heartbeat spent: not retried (the issuer is slower than the bound); the lease is released.
    h.send({ type: 'ISSUE_UNKNOWN', requestId: h.snapshot().context.requestId, nowMs: (now += 10) });
    expect(String(h.snapshot().value)).toBe('releasing');
  });

  it('a heartbeat answered after the issuer is ignored; the next issuer call keeps the episode\'s heartbeat count', () => {
    const h = holder();
    const beat = only(h.send({ type: 'TIMER', timerId: h.snapshot().context.timerId, nowMs: 400 }), 'renewLease');
    h.send({ type: 'ISSUE_UNKNOWN', requestId: h.snapshot().context.requestId, nowMs: 500 });
    expect(String(h.snapshot().value)).toBe('renewing');
    expect(h.send({ type: 'HEARTBEAT_APPLIED', heartbeatId: beat.params.heartbeatId, record: record({ leaseId: h.leaseId, revision: 2 }), nowMs: 510 })).toEqual([]);
    h.send({ type: 'WRITE_APPLIED', requestId: h.snapshot().context.requestId, record: record({ leaseId: h.leaseId, revision: 3 }), nowMs: 520 });
    expect(String(h.snapshot().value)).toBe('refreshing');
    expect(h.snapshot().context).toMatchObject({ heartbeats: 0, heartbeatLease: undefined, issuerAttempts: 2 });
  });
});

describe("the holder's learned refresh duration after heartbeats", () => {
  it('is measured from the claim, not from the last heartbeat: a refresh of 1.1 leases is not learned as 300 ms', () => {
    const h = holder();
    const issuerRequest = h.snapshot().context.requestId;
    for (const [at, revision] of [
      [400, 2],
      [800, 3],
    ] as const) {
      const beat = only(h.send({ type: 'TIMER', timerId: h.snapshot().context.timerId, nowMs: at }), 'renewLease');
      h.send({ type: 'HEARTBEAT_APPLIED', heartbeatId: beat.params.heartbeatId, record: record({ leaseId: h.leaseId, revision }), nowMs: at + 5 });
    }
    h.send({ type: 'ISSUED', requestId: issuerRequest, token: 'T1', nowMs: 1_100 });
    h.send({ type: 'WRITE_APPLIED', requestId: h.snapshot().context.requestId, record: record({ revision: 4, generation: 1, token: 'T1', tokenIssuedAtMs: 1_100 }), nowMs: 1_110 });
    expect(String(h.snapshot().value)).toBe('using');
    // 1100 ms since the claim was sent: longer than a lease, so no prediction is learned from it.
    expect(h.snapshot().context.refreshMsSeen).toBeUndefined();
  });
});
