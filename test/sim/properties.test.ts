/**
 * The property suite: N simulated instances (2–50) running the real machine and runtime against the
 * memory store and the strict fake chat API, interleaved by fast-check's scheduler on virtual time,
 * with faults drawn per run; I1–I8 checked on each recorded history (see `invariants.ts`).
 *
 * `FC_SEED` / `FC_RUNS` / `FC_PATH` replay or deepen (see `config.ts`); `BATON_MUTANT=<name>` runs
 * a deliberately broken protocol, and then this file must fail.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { FC_SEED_GIVEN, PROTOCOL_NAME, SUITE_RULES, fcParameters } from './config.js';
import { SIM_PROPERTIES, simProperty } from './properties.js';

/** Runs per property in CI (the whole file stays well under a minute). */
const CI_RUNS = { faults: 300, clean: 150, beyondSkew: 150, persistentSkew: 150 } as const;

/**
 * Default seed of the persistent-skew property (`FC_SEED` overrides it): its runs hit the
 * livelock the wall-clock staleness rule used to cause within 8 runs, so CI keeps proving the fix.
 */
const PERSISTENT_SKEW_SEED = 8;

const PROPERTY_TIMEOUT_MS = 600_000;

describe(`Baton property suite (${PROTOCOL_NAME})`, () => {
  for (const key of ['faults', 'clean', 'beyondSkew'] as const) {
    const spec = SIM_PROPERTIES[key];
    it(
      spec.name,
      async () => {
        await fc.assert(simProperty(spec, SUITE_RULES, PROTOCOL_NAME), fcParameters(spec.name, CI_RUNS[key]));
      },
      PROPERTY_TIMEOUT_MS,
    );
  }

  // Was a known limitation (an opt-in probe) until leases first seen less than a lease ago stopped
  // being judged by the wall clock; see SIM_PROPERTIES.persistentSkew.
  it(
    SIM_PROPERTIES.persistentSkew.name,
    async () => {
      const spec = SIM_PROPERTIES.persistentSkew;
      const seed = FC_SEED_GIVEN ? {} : { seed: PERSISTENT_SKEW_SEED };
      await fc.assert(simProperty(spec, SUITE_RULES, PROTOCOL_NAME), fcParameters(spec.name, CI_RUNS.persistentSkew, seed));
    },
    PROPERTY_TIMEOUT_MS,
  );
});
