/**
 * Proves, without any environment variable, that the property checks can fail: for each broken
 * protocol variant of `spec/mutants.ts`, a small run of the simulation (fixed seed, few runs,
 * `fc.check`) must find a *behavioral* violation of the invariant that the variant's missing rule
 * guards (structural findings, such as an unconditional write, are ignored here so the mutant is
 * caught by what it does, not by the shape of its requests). As a control, the real protocol runs
 * the same hunts and must not violate those invariants.
 *
 * (The whole suite also fails for each mutant: `BATON_MUTANT=<name> npx vitest run test/sim/properties.test.ts test/sim/model.test.ts`.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_RULES } from '../../src/machine/rules.js';
import { MUTANTS, MUTANT_NAMES } from '../../spec/mutants.js';
import type { MutantName } from '../../spec/mutants.js';
import type { PlanConstraints } from './arbitraries.js';
import { DEFAULT_FC_SEED } from './config.js';
import type { InvariantName } from './invariants.js';
import { SIM_PROPERTIES, simProperty } from './properties.js';
import type { SimPropertySpec } from './properties.js';

/** Where to look for each mutant: which runs, and which invariant its missing rule guards. */
interface Hunt {
  readonly property: 'faults' | 'clean';
  readonly constraints: PlanConstraints;
  /** The invariants the missing rule guards; the hunt checks only them and must find one violated. */
  readonly invariants: readonly InvariantName[];
  /** Why the mutant breaks it. */
  readonly because: string;
}

/** Small fleets (2–8) find each mutant within a few dozen runs with the fixed seed. */
const SMALL_ALL: PlanConstraints = { instancesMax: 8 };
const SMALL_ALL_HEAVY: PlanConstraints = { instancesMax: 8, faultLoad: 2 };
const SMALL_CLEAN: PlanConstraints = { instancesMax: 8, faultLoad: 2 };
const SMALL_SLOW_READS: PlanConstraints = { instancesMin: 3, instancesMax: 8, focus: 'slow-reads' };
const SMALL_ISSUER_TROUBLE: PlanConstraints = { instancesMax: 8, focus: 'issuer-trouble' };
const SMALL_LOST_RESPONSES: PlanConstraints = { instancesMax: 8, focus: 'lost-responses' };

const HUNTS: Record<MutantName, Hunt> = {
  'unfenced-publish': {
    property: 'faults',
    constraints: SMALL_ISSUER_TROUBLE,
    invariants: ['I2'],
    because: 'a holder that lost its lease (frozen, slow issuer) still publishes over the newer token',
  },
  'unversioned-claim': {
    property: 'faults',
    constraints: SMALL_SLOW_READS,
    invariants: ['I3'],
    because: 'a claim decided on an old view (slow read) lands after someone else refreshed, and refreshes again',
  },
  'no-takeover': {
    property: 'faults',
    constraints: SMALL_ALL,
    invariants: ['I5'],
    because: 'followers wait forever on the lease of a crashed holder',
  },
  'eventual-read': {
    property: 'clean',
    constraints: SMALL_CLEAN,
    invariants: ['I5'],
    because: 'a follower keeps seeing a lease that was already published away, and waits a whole lease for nothing',
  },
  'blind-release': {
    property: 'faults',
    constraints: SMALL_ISSUER_TROUBLE,
    invariants: ['I1'],
    because: 'a holder giving up after issuer errors removes the live lease of the instance that took over from it',
  },
  'no-readback': {
    property: 'clean',
    constraints: SMALL_LOST_RESPONSES,
    invariants: ['I5', 'I7'],
    because: 'after a lost write response the holder forgets what it holds: it waits on its own lease, or calls POST /auth again after a publish that did land',
  },
};

/**
 * Seed of the hunts: fixed (not `FC_SEED`, which replays the properties), so CI always proves the
 * same thing; `SIM_MUTANT_SEED` tries another one.
 */
const HUNT_SEED = Number(process.env['SIM_MUTANT_SEED'] ?? DEFAULT_FC_SEED);

/** Runs at most per hunt (a hunt stops at the first failure, so a found mutant costs only its runs). */
const HUNT_RUNS_MAX = 300;
/** Runs of each control (real protocol, same hunts). */
const CONTROL_RUNS = 100;

function huntSpec(hunt: Hunt): SimPropertySpec {
  return { ...SIM_PROPERTIES[hunt.property], invariants: hunt.invariants };
}

/** `mutant x: 3 violation(s) of I1, I2` → ['I1', 'I2']. */
function invariantsIn(error: unknown): string[] {
  const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  return /violation\(s\) of (.*)$/.exec(first)?.[1]?.split(', ') ?? [];
}

describe('each mutant is caught by an invariant its missing rule guards', () => {
  for (const name of MUTANT_NAMES) {
    const hunt = HUNTS[name];
    it(`${name} violates ${hunt.invariants.join(' or ')}: ${hunt.because}`, async () => {
      const property = simProperty(huntSpec(hunt), MUTANTS[name], `mutant ${name}`, hunt.constraints, { behavioralOnly: true });
      const result = await fc.check(property, { seed: HUNT_SEED, numRuns: HUNT_RUNS_MAX, endOnFailure: true });
      expect(result.failed, `mutant ${name} survived ${HUNT_RUNS_MAX} runs (seed ${HUNT_SEED})`).toBe(true);
      const caughtBy = invariantsIn(result.errorInstance);
      console.log(`[sim] mutant ${name}: caught by ${caughtBy.join(', ')} at run ${result.numRuns} (SIM_MUTANT_SEED=${result.seed}, path ${String(result.counterexamplePath)})`);
      expect(caughtBy.some((invariant) => (hunt.invariants as readonly string[]).includes(invariant)), `caught by ${caughtBy.join(', ')}`).toBe(true);
    }, 120_000);
  }
});

describe('control: the real protocol passes the same hunts', () => {
  const controls = new Map<string, { property: Hunt['property']; constraints: PlanConstraints; invariants: Set<InvariantName> }>();
  for (const hunt of Object.values(HUNTS)) {
    const key = `${hunt.property} ${JSON.stringify(hunt.constraints)}`;
    const control = controls.get(key) ?? { property: hunt.property, constraints: hunt.constraints, invariants: new Set<InvariantName>() };
    for (const invariant of hunt.invariants) control.invariants.add(invariant);
    controls.set(key, control);
  }
  for (const [key, control] of controls) {
    const invariants = [...control.invariants].sort();
    it(`real protocol keeps ${invariants.join(', ')} on ${key}`, async () => {
      const spec: SimPropertySpec = { ...SIM_PROPERTIES[control.property], invariants };
      await fc.assert(simProperty(spec, PROTOCOL_RULES, 'real protocol (control)', control.constraints, { behavioralOnly: true }), {
        seed: HUNT_SEED,
        numRuns: CONTROL_RUNS,
      });
    }, 120_000);
  }
});
