/**
 * Bounds of one exhaustive exploration. Every limit is named and has a default; the CLI
 * (`spec/explorer/main.ts`) and the tests fill these, nothing else does.
 */
import type { ProtocolConfig } from '../../src/machine/config.js';
import { MUTANT_NAMES } from '../mutants.js';
import type { MutantName } from '../mutants.js';

/** Which item the run starts from. */
export type StartKind = 'published' | 'empty';

/** Options of one exploration. */
export interface ExplorerConstraints {
  /**
   * Instances (Lambda instances sharing the item).
   * @defaultValue 3
   */
  readonly instances: number;
  /**
   * `withToken` calls per instance, made one after another (a Lambda instance serves one event at a time).
   * @defaultValue 2
   */
  readonly calls: number;
  /**
   * Attempts per `withToken` call (the runtime's `maxAttempts`).
   * @defaultValue 3
   */
  readonly maxAttempts: number;
  /**
   * Protocol variant from `spec/mutants.ts`; `undefined` explores the real protocol.
   * @defaultValue undefined
   */
  readonly mutant: MutantName | undefined;
  /**
   * The exploration stops (and fails) when it has seen this many distinct states.
   * @defaultValue 3_000_000
   */
  readonly maxStates: number;
  /**
   * Outside invalidations (the chat API mints a token nobody has) per run from the published
   * item; a run from the empty item has one fewer (the empty table is its incident).
   * @defaultValue 1
   */
  readonly invalidations: number;
  /**
   * Instance crashes per run.
   * @defaultValue 1
   */
  readonly crashes: number;
  /**
   * Lost write responses (the write arrived, its answer becomes `WRITE_AMBIGUOUS`) per run.
   * @defaultValue 1
   */
  readonly lostResponses: number;
  /**
   * `POST /auth` outcomes answered as unknown (`ISSUE_UNKNOWN`) per run.
   * @defaultValue 1
   */
  readonly unknownOutcomes: number;
  /**
   * Time jumps while a live instance works under an unexpired lease (assumption A2 broken once:
   * a frozen holder, or an issuer slower than the lease, as in scenario S3).
   * @defaultValue 1
   */
  readonly freezes: number;
  /**
   * The protocol's `roundsMax` (decisions per episode). Polls fire only when something changed,
   * so an episode of the model needs few rounds: with 8 no episode of the default space reaches
   * the limit, as production's (hundreds of rounds) is meant never to bind. Lower values explore
   * episodes that give up (see the round-limit finding in the explorer's README).
   * @defaultValue 8
   */
  readonly roundsMax: number;
  /**
   * The protocol's `issuerAttemptsMax` (`POST /auth` attempts with unknown outcome per lease).
   * 1 makes an unknown outcome lead straight to `releasing` (and its fleet-wide pause);
   * 2 explores `renewing` and the retry under the same lease instead.
   * @defaultValue 1
   */
  readonly issuerAttemptsMax: number;
  /**
   * Extra calls allowed once every instance made its `calls` and the fleet is quiet but not settled
   * (traffic goes on in production: the next caller meets the 401 or the empty item). Each fault
   * can waste one (the extra caller crashes, meets a back-off), hence one more than faults allow.
   * @defaultValue 3
   */
  readonly probes: number;
  /**
   * Fault budget of one run, on top of the per-kind budgets: a crash, a lost write answer, an
   * unknown `POST /auth` outcome (after landing) and a refusal cost 1, a freeze 2, an orphaned
   * `POST /auth` 3 (see `FAULT_COST` in `step.ts`). Outside invalidations are incidents, not faults.
   * @defaultValue 2
   */
  readonly maxFaults: number;
  /**
   * `POST /auth` refusals of the credentials (401 from the issuer: a rotated secret) per run.
   * @defaultValue 0
   */
  readonly refusals: number;
  /**
   * `POST /auth` calls whose caller gives up before the request lands (answered
   * `ISSUE_UNKNOWN`): the request stays in flight as an orphan that may land at any later moment
   * (or never). Costs 3 from {@link ExplorerConstraints.maxFaults}.
   * @defaultValue 1
   */
  readonly orphanedIssues: number;
  /**
   * Heartbeats a holder may send under one `POST /auth` call (the protocol allows up to
   * `HEARTBEATS_MAX`; in the model's time only their race with a takeover matters: one is
   * applied, refused, or answered unknown, and the issuer call is aborted on a refusal).
   * @defaultValue 1
   */
  readonly heartbeats: number;
  /**
   * Items the run starts from (each is a root of the one state graph).
   * @defaultValue ['published', 'empty']
   */
  readonly starts: readonly StartKind[];
  /**
   * Keep exploring after the first violation, to record the shortest counterexample of every invariant.
   * @defaultValue false
   */
  readonly allViolations: boolean;
  /**
   * Make a store request's arrival and its answer two steps (as the issuer's are) instead of one.
   * One step loses only interleavings in which the answer's delay is visible, which nothing but
   * the instance's own clock reading can see; two steps multiply the state space.
   * @defaultValue false
   */
  readonly splitStore: boolean;
  /**
   * Make using a granted token a step of its own instead of part of the step that granted it.
   * Same reachable outcomes (see `useGranted` in `step.ts`), more states.
   * @defaultValue false
   */
  readonly useSeparately: boolean;
  /**
   * Fold states that differ only by a renaming of the instances into one (symmetry reduction).
   * @defaultValue true
   */
  readonly symmetry: boolean;
  /**
   * Hold the economy check (I7) to the letter of the spec (`POST /auth` ≤ incidents + takeovers)
   * instead of the bound scenario S3 allows (≤ incidents + 2 × takeovers).
   * @defaultValue false
   */
  readonly strictEconomy: boolean;
}

/** Defaults: the CI-sized check. */
export const DEFAULT_EXPLORER: ExplorerConstraints = Object.freeze({
  instances: 3,
  calls: 2,
  maxAttempts: 3,
  mutant: undefined,
  maxStates: 3_000_000,
  invalidations: 1,
  crashes: 1,
  lostResponses: 1,
  unknownOutcomes: 1,
  freezes: 1,
  refusals: 0,
  maxFaults: 2,
  probes: 3,
  roundsMax: 8,
  issuerAttemptsMax: 1,
  orphanedIssues: 1,
  heartbeats: 1,
  starts: ['published', 'empty'] as const,
  allViolations: false,
  splitStore: false,
  useSeparately: false,
  symmetry: true,
  strictEconomy: false,
});

/** Most instances the explorer accepts (instance ids are single letters; the space grows fast). */
export const INSTANCES_MAX = 6;
/** Most calls per instance the explorer accepts. */
export const CALLS_MAX = 4;

/** Lease length of the model. Only "expired or not" matters; see {@link JUMP_MS}. */
export const LEASE_MS = 1_000;
/** Tolerated clock skew of the model (all instances share one clock: skew 0 ≤ this). */
export const MAX_CLOCK_SKEW_MS = 100;
/**
 * The one way time passes: a jump long enough that every lease taken before it counts as stale
 * by both staleness rules (own clock and wall clock), and every token is older than `freshTokenMs`.
 */
export const JUMP_MS = LEASE_MS + MAX_CLOCK_SKEW_MS + 1;
/** The model's clock at the start of a run (a realistic epoch-ms value). */
export const START_MS = 1_700_000_000_000;

/**
 * Protocol timing of the model (`roundsMax` and `issuerAttemptsMax` come from the options, see
 * {@link protocolFor}). Polls fire only when the item or the time changed (see `step.ts`), so a
 * round is never spent on nothing.
 */
export const EXPLORER_PROTOCOL: ProtocolConfig = Object.freeze({
  leaseMs: LEASE_MS,
  maxClockSkewMs: MAX_CLOCK_SKEW_MS,
  pollMs: 100,
  proactiveLeadMs: 0,
  freshTokenMs: 50,
  issuerAttemptsMax: 2,
  roundsMax: 10,
  backoffBaseMs: 100,
  backoffMaxMs: 100,
});

/** The protocol configuration every machine of a run gets. */
export function protocolFor(options: Pick<ExplorerConstraints, 'roundsMax' | 'issuerAttemptsMax'>): ProtocolConfig {
  return { ...EXPLORER_PROTOCOL, roundsMax: options.roundsMax, issuerAttemptsMax: options.issuerAttemptsMax };
}

/** Checks every option; returns a message for the first bad one. */
export function optionsProblem(options: ExplorerConstraints): string | undefined {
  const integer = (name: string, value: number, min: number, max: number): string | undefined =>
    Number.isInteger(value) && value >= min && value <= max ? undefined : `--${name} must be an integer from ${min} to ${max} (got ${String(value)})`;
  return (
    integer('instances', options.instances, 1, INSTANCES_MAX) ??
    integer('calls', options.calls, 1, CALLS_MAX) ??
    integer('max-attempts', options.maxAttempts, 1, 5) ??
    integer('max-states', options.maxStates, 1, 50_000_000) ??
    integer('invalidations', options.invalidations, 0, 2) ??
    integer('crashes', options.crashes, 0, 2) ??
    integer('lost-responses', options.lostResponses, 0, 2) ??
    integer('unknown-outcomes', options.unknownOutcomes, 0, 2) ??
    integer('freezes', options.freezes, 0, 2) ??
    integer('refusals', options.refusals, 0, 2) ??
    integer('orphaned-issues', options.orphanedIssues, 0, 2) ??
    integer('heartbeats', options.heartbeats, 0, 2) ??
    integer('max-faults', options.maxFaults, 0, 8) ??
    integer('probes', options.probes, 0, 4) ??
    integer('rounds-max', options.roundsMax, 2, 32) ??
    integer('issuer-attempts', options.issuerAttemptsMax, 1, 3) ??
    (options.mutant === undefined || MUTANT_NAMES.includes(options.mutant)
      ? undefined
      : `unknown mutant "${String(options.mutant)}"; use one of: ${MUTANT_NAMES.join(', ')}`) ??
    (options.starts.length > 0 ? undefined : '--start needs at least one of: published, empty')
  );
}
