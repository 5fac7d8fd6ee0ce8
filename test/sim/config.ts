import type { Parameters, RunDetails } from 'fast-check';
import type { ProtocolRules } from '../../src/machine/rules.js';
import { rulesFor } from '../../spec/mutants.js';

/**
 * One place for the knobs of the property suite, read from the environment:
 *
 * - `FC_SEED`: seed of every property (an integer); `random` draws one. Default: a fixed seed,
 *   so CI replays the same runs every time.
 * - `FC_RUNS`: runs per property (deepen locally, e.g. `FC_RUNS=2000`). Default: CI-sized.
 * - `FC_PATH`: the shrink path fast-check printed with a failure, to replay that counterexample
 *   (use with the same `FC_SEED`).
 * - `BATON_MUTANT`: build the coordinators from a deliberately broken machine (see `spec/mutants.ts`);
 *   the suite must then fail.
 *
 * @example
 * ```sh
 * FC_SEED=1234 FC_PATH="12:3:0" npx vitest run test/sim/properties.test.ts
 * ```
 */
export const DEFAULT_FC_SEED = 20_240_601;

/** The seed from `FC_SEED` (fixed by default, `random` for a fresh one). */
export const FC_SEED: number = parseSeed(process.env['FC_SEED']);

/** Whether `FC_SEED` was given (a property with its own default seed then uses it instead). */
export const FC_SEED_GIVEN: boolean = nonEmpty(process.env['FC_SEED']) !== undefined;

/** `FC_PATH`, if set. */
export const FC_PATH: string | undefined = nonEmpty(process.env['FC_PATH']);

/** `FC_RUNS` override, if set. */
export const FC_RUNS: number | undefined = parseRuns(process.env['FC_RUNS']);

/** Name of the mutant under test (`BATON_MUTANT`), or `undefined` for the real protocol. */
export const MUTANT_NAME: string | undefined = nonEmpty(process.env['BATON_MUTANT']);

/** The protocol rules the suite runs (the real ones unless `BATON_MUTANT` names a mutant). */
export const SUITE_RULES: ProtocolRules = rulesFor(MUTANT_NAME);

/** A readable name of the protocol under test. */
export const PROTOCOL_NAME = MUTANT_NAME === undefined ? 'real protocol' : `mutant ${MUTANT_NAME}`;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parseSeed(value: string | undefined): number {
  const text = nonEmpty(value);
  if (text === undefined) return DEFAULT_FC_SEED;
  if (text === 'random') return (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer or "random"; got ${JSON.stringify(text)}`);
  return seed | 0;
}

function parseRuns(value: string | undefined): number | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  const runs = Number(text);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`FC_RUNS must be a positive integer; got ${JSON.stringify(text)}`);
  return runs;
}

const announced = new Set<string>();

/**
 * fast-check parameters for one property: the suite seed, `FC_RUNS` (else `defaultRuns`) and
 * `FC_PATH`. Prints the seed (once per property) so any run can be replayed.
 *
 * @example
 * ```ts
 * await fc.assert(property, fcParameters('I1–I8 within tolerance', 40));
 * ```
 */
export function fcParameters<T>(name: string, defaultRuns: number, extra: Parameters<T> = {}, describe?: (counterexample: T) => string): Parameters<T> {
  const numRuns = FC_RUNS ?? defaultRuns;
  if (!announced.has(name)) {
    announced.add(name);
    const path = FC_PATH === undefined ? '' : ` FC_PATH=${FC_PATH}`;
    console.log(`[sim] ${name}: ${PROTOCOL_NAME}, FC_SEED=${extra.seed ?? FC_SEED} FC_RUNS=${numRuns}${path}`);
  }
  return {
    seed: FC_SEED,
    numRuns,
    endOnFailure: false,
    reporter: (details: RunDetails<T>) => simReporter(details, describe),
    ...(FC_PATH === undefined ? {} : { path: FC_PATH }),
    ...extra,
  };
}

/**
 * Reports a failed property as: how to replay it, then the checker's report (violations and the
 * run's timeline). The default report would first print the scheduler's whole task log, which for
 * a fleet of 50 runs to thousands of lines; the seed and path replay the very same run.
 */
export function simReporter<T>(details: RunDetails<T>, describe?: (counterexample: T) => string): void {
  if (!details.failed) return;
  const shown = describe === undefined || details.counterexample === null ? '' : `\ncounterexample: ${describe(details.counterexample)}`;
  const replay = `FC_SEED=${details.seed} FC_PATH="${details.counterexamplePath ?? ''}"`;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const header = details.interrupted
    ? `Property interrupted after ${details.numRuns} run(s)`
    : `Property failed after ${details.numRuns} run(s), shrunk ${details.numShrinks} time(s)`;
  throw new Error(`${header} — replay with: ${replay} (${PROTOCOL_NAME})${shown}\n${cause}`, { cause: details.errorInstance });
}
