/**
 * Follower poll timing: a follower that saw how long the last refresh took aims a poll just
 * after the publish it predicts, polls faster for one `pollMs` after it, and otherwise keeps the
 * normal pace, never sleeping longer than a normal poll and never past the staleness point.
 */
import { initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { refreshDurationMs } from '../../src/machine/decide.js';
import { batonMachine } from '../../src/machine/machine.js';
import type { ProtocolConfig } from '../../src/machine/config.js';
import type { TokenRecord } from '../../src/machine/record.js';
import type { Effect, MachineEvent } from '../../src/machine/types.js';

const config: ProtocolConfig = {
  leaseMs: 10_000,
  maxClockSkewMs: 1_000,
  pollMs: 100,
  proactiveLeadMs: 60_000,
  freshTokenMs: 500,
  issuerAttemptsMax: 2,
  roundsMax: 300,
  backoffBaseMs: 1_000,
  backoffMaxMs: 8_000,
};
/** Normal pace for pollMs 100: 75–125 ms. After the predicted publish: 19–31 ms. */
const NORMAL = { delayMsMin: 75, delayMsMax: 125 };
const FAST = { delayMsMin: 19, delayMsMax: 31 };

type Snapshot = ReturnType<typeof initialTransition<typeof batonMachine>>[0];

class Follower {
  snapshot: Snapshot;
  effects: Effect[] = [];
  constructor() {
    [this.snapshot] = initialTransition(batonMachine, { config, instanceId: 'f', nonce: 'n0', nowMs: 0 });
  }
  send(event: MachineEvent): void {
    const [next, actions] = transition(batonMachine, this.snapshot, event);
    this.snapshot = next;
    this.effects = (actions as unknown as Effect[]).filter((a) => !String(a.type).startsWith('xstate.'));
  }
  get state(): string {
    return String(this.snapshot.value);
  }
  /** Reads `item` at `nowMs` (after the pending timer fired, if it waits) and returns the next poll window. */
  read(item: TokenRecord | undefined, nowMs: number): { delayMsMin: number; delayMsMax: number } | undefined {
    if (this.state === 'waiting') this.send({ type: 'TIMER', timerId: this.snapshot.context.timerId, nowMs });
    this.send({ type: 'READ_OK', requestId: this.snapshot.context.requestId, record: item, nowMs });
    const timer = this.effects.find((effect) => effect.type === 'startTimer');
    return timer === undefined ? undefined : { delayMsMin: timer.params.delayMsMin, delayMsMax: timer.params.delayMsMax };
  }
}

const item = (fields: Partial<TokenRecord>): TokenRecord => ({ schemaVersion: 1, revision: 1, generation: 1, ...fields });
const leased = (leaseId: string, acquiredAtMs: number, revision: number, generation = 1): TokenRecord =>
  item({ generation, token: `T${generation}`, tokenIssuedAtMs: 0, revision, leaseId, leaseHolder: 'h', leaseAcquiredAtMs: acquiredAtMs, leaseExpiresAtMs: acquiredAtMs + config.leaseMs });

/** A follower using T1 (issued at 0), which a caller has just seen rejected at 1 000. */
function usingT1(): Follower {
  const f = new Follower();
  f.send({ type: 'TOKEN_NEEDED', nowMs: 900 });
  f.read(item({ generation: 1, token: 'T1', tokenIssuedAtMs: 0 }), 900);
  expect(f.state).toBe('using');
  f.send({ type: 'TOKEN_REJECTED', token: 'T1', generation: 1, nowMs: 1_000 });
  expect(f.state).toBe('reading');
  return f;
}

/** A follower that watched one refresh of `refreshMs` (lease taken at 1 000) and adopted its token. */
function followerThatSawOneRefresh(refreshMs: number): Follower {
  const f = usingT1();
  expect(f.read(leased('h#1', 1_000, 3), 1_010)).toEqual(NORMAL);
  f.read(item({ generation: 2, token: 'T2', tokenIssuedAtMs: 1_000 + refreshMs, revision: 4 }), 1_000 + refreshMs + 40);
  expect(f.state).toBe('using');
  return f;
}

describe('follower poll timing', () => {
  it('keeps the normal pace until it has seen a refresh, then learns its duration on the holder clock', () => {
    const f = followerThatSawOneRefresh(320);
    expect(f.snapshot.context.refreshMsSeen).toBe(320);
  });

  it('aims a poll just after the predicted publish, polls fast for one pollMs after it, then resumes the normal pace', () => {
    const f = followerThatSawOneRefresh(320);
    f.send({ type: 'TOKEN_REJECTED', token: 'T2', generation: 2, nowMs: 5_000 });
    // Lease taken at 5 000: publish predicted at 5 320, poll aimed at 5 320 + 15 (margin).
    expect(f.read(leased('h#2', 5_000, 5, 2), 5_010)).toEqual(NORMAL);
    expect(f.read(leased('h#2', 5_000, 5, 2), 5_200)).toEqual(NORMAL); // 135 ms to go: a normal poll comes first
    expect(f.read(leased('h#2', 5_000, 5, 2), 5_270)).toEqual({ delayMsMin: 65, delayMsMax: 78 });
    expect(f.read(leased('h#2', 5_000, 5, 2), 5_340)).toEqual(FAST); // not published yet: poll fast
    expect(f.read(leased('h#2', 5_000, 5, 2), 5_430)).toEqual(FAST);
    expect(f.read(leased('h#2', 5_000, 5, 2), 5_440)).toEqual(NORMAL); // one pollMs past the aim: the issuer is slower this time
  });

  it('keeps when the lease was first taken across its renewals (heartbeats), and a new lease starts over', () => {
    const f = followerThatSawOneRefresh(320);
    f.send({ type: 'TOKEN_REJECTED', token: 'T2', generation: 2, nowMs: 5_000 });
    f.read(leased('h#2', 5_000, 5, 2), 5_010);
    f.read(leased('h#2', 5_200, 6, 2), 5_210); // renewed: leaseAcquiredAtMs moved, the refresh did not restart
    expect(f.snapshot.context.observed?.acquiredAtMs).toBe(5_000);
    f.read(leased('g#1', 5_300, 7, 2), 5_310); // another lease (a takeover): its own start
    expect(f.snapshot.context.observed?.acquiredAtMs).toBe(5_300);
  });

  it('a holder clock ahead of the follower cannot make it sleep longer: the lease began no later than its first sighting', () => {
    const f = followerThatSawOneRefresh(320);
    f.send({ type: 'TOKEN_REJECTED', token: 'T2', generation: 2, nowMs: 5_000 });
    // The holder's clock says 9 000: by the follower's clock the lease began by 5 010 at the latest.
    expect(f.read(leased('h#2', 9_000, 5, 2), 5_010)).toEqual(NORMAL);
    expect(f.read(leased('h#2', 9_000, 5, 2), 5_280)).toEqual({ delayMsMin: 65, delayMsMax: 78 });
  });

  it('never sleeps past the staleness point, whatever it predicts', () => {
    const f = followerThatSawOneRefresh(320);
    f.send({ type: 'TOKEN_REJECTED', token: 'T2', generation: 2, nowMs: 5_000 });
    f.read(leased('h#2', 5_000, 5, 2), 5_000);
    // Stale at 5 000 + lease + skew = 16 000 on the follower's clock.
    expect(f.read(leased('h#2', 5_000, 5, 2), 15_950)).toEqual({ delayMsMin: 50, delayMsMax: 50 });
  });

  it('learns nothing from a lease that ended without its token (released) or from times that do not fit a lease', () => {
    const f = usingT1();
    f.read(leased('h#1', 1_000, 3), 1_010);
    // Released: the item shows the old token, issued before the lease began.
    f.read(item({ generation: 1, token: 'T1', tokenIssuedAtMs: 0, revision: 4 }), 2_000);
    expect(f.snapshot.context.refreshMsSeen).toBeUndefined();
    expect(refreshDurationMs(1_000, 900, config.leaseMs)).toBeUndefined();
    expect(refreshDurationMs(1_000, 1_000 + config.leaseMs + 1, config.leaseMs)).toBeUndefined();
    expect(refreshDurationMs(undefined, 1_300, config.leaseMs)).toBeUndefined();
    expect(refreshDurationMs(1_000, 1_300, config.leaseMs)).toBe(300);
  });

  it('the holder learns its own refresh duration when its publish applies', () => {
    const h = new Follower();
    h.send({ type: 'TOKEN_NEEDED', nowMs: 10 });
    h.send({ type: 'READ_OK', requestId: h.snapshot.context.requestId, record: undefined, nowMs: 20 });
    const claim = h.effects.find((effect) => effect.type === 'writeRecord');
    if (claim?.type !== 'writeRecord') throw new Error('expected a claim');
    const leaseId = claim.params.request.set.leaseId!;
    h.send({ type: 'WRITE_APPLIED', requestId: h.snapshot.context.requestId, record: item({ generation: 0, leaseId, revision: 1 }), nowMs: 30 });
    h.send({ type: 'ISSUED', requestId: h.snapshot.context.requestId, token: 'T1', nowMs: 330 });
    h.send({ type: 'WRITE_APPLIED', requestId: h.snapshot.context.requestId, record: item({ generation: 1, token: 'T1', tokenIssuedAtMs: 330, revision: 2 }), nowMs: 340 });
    expect(h.state).toBe('using');
    expect(h.snapshot.context.refreshMsSeen).toBe(310); // lease sent at 20, token issued at 330
  });
});
