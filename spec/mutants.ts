import { PROTOCOL_RULES } from '../src/machine/rules.js';
import type { ProtocolRules } from '../src/machine/rules.js';

/**
 * Deliberately broken protocol variants. Each turns off one safety rule; the property suite
 * (`BATON_MUTANT=<name> npm test`) and the explorer (`npm run verify -- --mutant <name>`) must
 * both catch every one. Reachable only from spec and test code.
 */
export const MUTANTS = {
  /** Publish without `leaseId = :mine`: a fenced-out holder overwrites the newer token. */
  'unfenced-publish': { ...PROTOCOL_RULES, fencedPublish: false },
  /** Claim without `generation = :seen`: a late claimer refreshes a token someone just published. */
  'unversioned-claim': { ...PROTOCOL_RULES, versionedClaim: false },
  /** Never take over: a crashed holder's lease blocks everyone forever. */
  'no-takeover': { ...PROTOCOL_RULES, takeOver: false },
  /** Eventually consistent reads: decisions on a stale item. */
  'eventual-read': { ...PROTOCOL_RULES, consistentReads: false },
  /** Release without `leaseId = :mine`: removes someone else's live lease. */
  'blind-release': { ...PROTOCOL_RULES, fencedRelease: false },
  /** An ambiguous write is taken as lost: the instance forgets a lease it holds or a token it published. */
  'no-readback': { ...PROTOCOL_RULES, readBackAmbiguousWrites: false },
} as const satisfies Record<string, ProtocolRules>;

/** Name of a mutant. */
export type MutantName = keyof typeof MUTANTS;

/** All mutant names, in a fixed order. */
export const MUTANT_NAMES = Object.keys(MUTANTS) as MutantName[];

/**
 * The rules for `name`, or a clear error listing the valid names.
 *
 * @example
 * ```ts
 * rulesFor(process.env.BATON_MUTANT); // PROTOCOL_RULES when unset
 * ```
 */
export function rulesFor(name: string | undefined): ProtocolRules {
  if (name === undefined || name === '') return PROTOCOL_RULES;
  if (!(name in MUTANTS)) throw new Error(`unknown mutant "${name}"; use one of: ${MUTANT_NAMES.join(', ')}`);
  return MUTANTS[name as MutantName];
}
