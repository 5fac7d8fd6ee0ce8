import fc from 'fast-check';
import { AUTH_MODES, NO_FAULTS } from './harness.js';
import type { AuthMode, FaultPlan, SimPlan, SimTiming } from './harness.js';

/**
 * What kind of runs to draw.
 *
 * @example
 * ```ts
 * planArbitrary({ instancesMax: 50, faults: 'all', skew: 'within' });
 * ```
 */
export interface PlanConstraints {
  /** @defaultValue 2 */
  readonly instancesMin?: number;
  /** @defaultValue 50 */
  readonly instancesMax?: number;
  /**
   * `all`: every fault kind; `clean`: only outside incidents and store glitches (the strict
   * economy case); `none`: nothing but the traffic.
   * @defaultValue 'all'
   */
  readonly faults?: 'all' | 'clean' | 'none';
  /**
   * `within`: every pairwise clock difference stays within `maxClockSkewMs` (jumps included);
   * `beyond`: offsets and jumps of up to two leases.
   * @defaultValue 'within'
   */
  readonly skew?: 'within' | 'beyond';
  /** Most messages sent in the fault phase. @defaultValue 60 */
  readonly sendsMax?: number;
  /** Scales how many faults of each kind may be drawn. @defaultValue 1 */
  readonly faultLoad?: number;
  /** Smallest `maxAttempts` drawn. @defaultValue 1 */
  readonly maxAttemptsMin?: number;
  /**
   * `slow-reads`: many reads among the first of the run answer late (up to a lease), so decisions
   * are taken on old views while others act (the mutant test hunts `unversioned-claim` with it).
   * `issuer-trouble`: many `POST /auth` calls fail, lose their answer or stall past the lease, and
   * holders freeze: leases are taken over from live holders (hunts `blind-release`, `unfenced-publish`).
   * `lost-responses`: many of the first writes are applied but their answer is lost (hunts `no-readback`).
   * @defaultValue none
   */
  readonly focus?: 'slow-reads' | 'issuer-trouble' | 'lost-responses';
}

/** Timing of a run: a lease well above a healthy `POST /auth`, a skew allowance below a quarter lease. */
export function timingArbitrary(constraints: Pick<PlanConstraints, 'maxAttemptsMin'> = {}): fc.Arbitrary<SimTiming> {
  const attempts = [1, 2, 3, 3, 3, 4].filter((count) => count >= (constraints.maxAttemptsMin ?? 1));
  return fc.constantFrom(1_000, 1_500, 2_000, 3_000).chain((leaseMs) =>
    fc.record({
      leaseMs: fc.constant(leaseMs),
      maxClockSkewMs: fc.integer({ min: 0, max: Math.min(300, Math.floor(leaseMs / 4)) }),
      pollMs: fc.integer({ min: 40, max: 150 }),
      maxAttempts: fc.constantFrom(...attempts),
      storeLegMsMax: fc.integer({ min: 0, max: 12 }),
      authMsMin: fc.integer({ min: 5, max: 60 }),
      authMsMax: fc.integer({ min: 60, max: Math.floor(leaseMs * 0.4) }),
      chatLegMsMax: fc.integer({ min: 0, max: 8 }),
      callWaitMs: fc.integer({ min: Math.floor(leaseMs / 2), max: 5 * leaseMs }),
    }),
  );
}

function sendsArbitrary(n: number, faultPhaseMs: number, sendsMax: number): fc.Arbitrary<SimPlan['sends']> {
  const slot = fc.integer({ min: 0, max: n - 1 });
  const spread = fc.array(fc.record({ slot, atMs: fc.integer({ min: 0, max: faultPhaseMs }) }), { minLength: 1, maxLength: sendsMax });
  // A burst: many instances at (nearly) the same moment, like a cold start of the fleet.
  const burst = fc.integer({ min: 0, max: faultPhaseMs }).chain((startMs) =>
    fc.array(fc.record({ slot, atMs: fc.integer({ min: startMs, max: startMs + 50 }) }), { minLength: 1, maxLength: sendsMax }),
  );
  return fc.oneof(spread, burst);
}

function faultsArbitrary(n: number, timing: SimTiming, faultPhaseMs: number, constraints: PlanConstraints): fc.Arbitrary<FaultPlan> {
  const { leaseMs, maxClockSkewMs } = timing;
  const load = constraints.faultLoad ?? 1;
  const most = (count: number): number => Math.max(0, Math.round(count * load));
  const slot = fc.integer({ min: 0, max: n - 1 });
  const atMs = fc.integer({ min: 0, max: faultPhaseMs });
  const half = Math.floor(maxClockSkewMs / 2);
  const offset = constraints.skew === 'beyond' ? fc.integer({ min: -2 * leaseMs, max: 2 * leaseMs }) : fc.integer({ min: -half, max: half });
  const outside = fc.array(fc.record({ atMs, kind: fc.constantFrom('invalidate' as const, 'expire' as const) }), { maxLength: most(4) });
  const jumps = fc.array(fc.record({ slot, atMs, toOffsetMs: offset }), { maxLength: most(4) });
  const lostWriteResponses =
    constraints.focus === 'lost-responses' ? fc.uniqueArray(fc.nat(30), { minLength: 3, maxLength: 10 }) : fc.uniqueArray(fc.nat(80), { maxLength: most(4) });
  const lostWriteRequests = fc.uniqueArray(fc.nat(80), { maxLength: most(3) });
  const failedReads = fc.uniqueArray(fc.nat(200), { maxLength: most(3) });
  // Slow store calls: in `clean` runs short enough that no holder can look stale; otherwise up to 1.5 leases.
  const delayMs = fc.integer({ min: 20, max: constraints.faults === 'clean' ? Math.floor(leaseMs / 8) : Math.floor(1.5 * leaseMs) });
  const slowWrites = fc.array(fc.record({ index: fc.nat(80), delayMs }), { maxLength: most(3) });
  const slowReads =
    constraints.focus === 'slow-reads'
      ? fc.array(fc.record({ index: fc.nat(60), delayMs: fc.integer({ min: 50, max: leaseMs }) }), { minLength: 4, maxLength: 16 })
      : fc.array(fc.record({ index: fc.nat(300), delayMs }), { maxLength: most(4) });
  if (constraints.faults === 'none') return fc.constant(NO_FAULTS);
  if (constraints.faults === 'clean') {
    return fc.record({ outside, jumps, lostWriteResponses, lostWriteRequests, failedReads, slowWrites, slowReads }).map((drawn) => ({ ...NO_FAULTS, ...drawn }));
  }
  if (constraints.focus === 'issuer-trouble') {
    const call = fc.nat(10);
    return fc.record({
      freezes: fc.array(fc.record({ slot, atMs, forMs: fc.integer({ min: leaseMs, max: 3 * leaseMs }) }), { maxLength: 4 }),
      slowAuth: fc.array(
        fc.record({
          call,
          latencyMs: fc.integer({ min: leaseMs, max: Math.floor(2.5 * leaseMs) }),
          landingFraction: fc.integer({ min: 0, max: 100 }).map((percent) => percent / 100),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      lostAuthAnswers: fc.uniqueArray(call, { maxLength: 4 }),
      auth5xx: fc.uniqueArray(call, { minLength: 1, maxLength: 8 }),
      // Windows where every `POST /auth` fails or loses its answer (a holder's last attempt may then stall and fail).
      issuerModes: fc.array(fc.record({ atMs, mode: fc.constantFrom<AuthMode>('error-500', 'error-500', 'drop-after-issue', 'ok') }), { minLength: 1, maxLength: 3 }),
      outside,
    }).map((drawn) => ({ ...NO_FAULTS, ...drawn }));
  }
  return fc.record({
    crashes: fc.array(fc.record({ slot, atMs }), { maxLength: most(3) }),
    crashAfterIssue: fc.uniqueArray(slot, { maxLength: most(2) }),
    restartAfterMs: fc.option(fc.integer({ min: 0, max: 2 * leaseMs }), { nil: undefined }),
    freezes: fc.array(fc.record({ slot, atMs, forMs: fc.integer({ min: 50, max: 3 * leaseMs }) }), { maxLength: most(3) }),
    lostWriteResponses,
    lostWriteRequests,
    failedReads,
    slowWrites,
    slowReads,
    slowAuth: fc.array(
      fc.record({
        call: fc.nat(8),
        latencyMs: fc.integer({ min: leaseMs, max: Math.floor(2.5 * leaseMs) }),
        landingFraction: fc.integer({ min: 0, max: 100 }).map((percent) => percent / 100),
      }),
      { maxLength: most(2) },
    ),
    lostAuthAnswers: fc.uniqueArray(fc.nat(8), { maxLength: most(2) }),
    auth5xx: fc.uniqueArray(fc.nat(8), { maxLength: most(3) }),
    issuerModes: fc.array(fc.record({ atMs, mode: fc.constantFrom(...AUTH_MODES) }), { maxLength: most(3) }),
    outside,
    jumps,
  });
}

/**
 * A whole run: N instances (2–50 by default), timing, clock offsets, traffic and faults.
 *
 * @example
 * ```ts
 * fc.asyncProperty(fc.scheduler(), planArbitrary({ faults: 'all' }), async (s, plan) => { … });
 * ```
 */
export function planArbitrary(constraints: PlanConstraints = {}): fc.Arbitrary<SimPlan> {
  const instancesMin = constraints.instancesMin ?? 2;
  const instancesMax = constraints.instancesMax ?? 50;
  const sendsMax = constraints.sendsMax ?? 60;
  return fc.tuple(fc.integer({ min: instancesMin, max: instancesMax }), timingArbitrary(constraints)).chain(([n, timing]) => {
    const half = Math.floor(timing.maxClockSkewMs / 2);
    const offset = constraints.skew === 'beyond' ? fc.integer({ min: -2 * timing.leaseMs, max: 2 * timing.leaseMs }) : fc.integer({ min: -half, max: half });
    return fc.integer({ min: 2 * timing.leaseMs, max: 8 * timing.leaseMs }).chain((faultPhaseMs) =>
      fc.record({
        instances: fc.constant(n),
        timing: fc.constant(timing),
        offsetsMs: fc.array(offset, { minLength: n, maxLength: n }),
        skewWithinTolerance: fc.constant(constraints.skew !== 'beyond'),
        initiallyStored: fc.boolean(),
        faultPhaseMs: fc.constant(faultPhaseMs),
        sends: sendsArbitrary(n, faultPhaseMs, sendsMax),
        faults: faultsArbitrary(n, timing, faultPhaseMs, constraints),
        latencySeed: fc.integer(),
      }),
    );
  });
}
