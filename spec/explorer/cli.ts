/**
 * The command line of the exhaustive explorer (`npm run verify [-- flags]`); the flags and exit
 * codes are in {@link USAGE} (`npm run verify -- --help`).
 */
import { writeFileSync } from 'node:fs';
import { MUTANT_NAMES } from '../mutants.js';
import type { MutantName } from '../mutants.js';
import { explore } from './explore.js';
import type { ExploreReport } from './explore.js';
import { INVARIANTS } from './invariants.js';
import { DEFAULT_EXPLORER, optionsProblem } from './options.js';
import type { ExplorerConstraints, StartKind } from './options.js';
import { formatCounterexample } from './trace.js';

/** What `--help` prints. */
export const USAGE = `usage: npm run verify [-- flags]   (the exhaustive explorer of the real protocol machine)

  --instances N        instances (default 3)
  --calls C            withToken calls per instance (default 2)
  --max-attempts A     attempts per call (default 3)
  --mutant NAME        explore a broken variant from spec/mutants.ts (must fail)
  --max-states S       give up (exit 3) beyond S states (default 3,000,000)
  --invalidations K, --crashes K, --lost-responses K, --unknown-outcomes K, --orphaned-issues K,
  --freezes K, --refusals K
                       per-kind fault budgets (default 1 each, refusals 0)
  --heartbeats H       lease heartbeats per POST /auth call (default 1)
  --start published|empty|both   the item at the start (default both)
  --rounds-max R       the protocol's roundsMax (default 8)
  --issuer-attempts A  the protocol's issuerAttemptsMax (default 1; 2 explores renewing)
  --probes P           extra calls once the fleet is quiet but unsettled (default 3)
  --max-faults F       fault budget per run: crash, lost answer, unknown outcome, refusal cost 1,
                       freeze 2, orphaned POST /auth 3 (default 2)
  --all                record the shortest counterexample of every broken invariant
  --use-separately     using a granted token as a step of its own (slower, same outcomes)
  --split-store        a store request's arrival and its answer as two steps (slower, more interleavings)
  --no-symmetry        do not fold states that differ only by instance names
  --strict-economy     I7 as the spec words it (POST /auth ≤ incidents + takeovers)
  --json PATH          write the report as JSON
  --help               print this text

Exit codes: 0 every invariant holds on the whole space; 1 a counterexample was found;
2 bad flags; 3 the state limit stopped the search (nothing proven).
`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
}

const NUMBER_FLAGS = {
  '--instances': 'instances',
  '--calls': 'calls',
  '--max-attempts': 'maxAttempts',
  '--max-states': 'maxStates',
  '--invalidations': 'invalidations',
  '--crashes': 'crashes',
  '--lost-responses': 'lostResponses',
  '--unknown-outcomes': 'unknownOutcomes',
  '--freezes': 'freezes',
  '--refusals': 'refusals',
  '--orphaned-issues': 'orphanedIssues',
  '--heartbeats': 'heartbeats',
  '--max-faults': 'maxFaults',
  '--probes': 'probes',
  '--rounds-max': 'roundsMax',
  '--issuer-attempts': 'issuerAttemptsMax',
} as const satisfies Record<string, keyof ExplorerConstraints>;

/** Parses the command line; throws {@link UsageError} with a clear message. */
export function parseArgs(argv: readonly string[]): { options: ExplorerConstraints; json: string | undefined } {
  let options: ExplorerConstraints = { ...DEFAULT_EXPLORER };
  let json: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i] ?? '';
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${name} needs a value`);
      i += 1;
      return next;
    };
    if (name in NUMBER_FLAGS) {
      const raw = value();
      const parsed = Number(raw.replaceAll('_', ''));
      if (!Number.isInteger(parsed)) throw new UsageError(`${name} needs an integer (got "${raw}")`);
      options = { ...options, [NUMBER_FLAGS[name as keyof typeof NUMBER_FLAGS]]: parsed };
    } else if (name === '--mutant') {
      const mutant = value();
      if (!(MUTANT_NAMES as readonly string[]).includes(mutant)) throw new UsageError(`unknown mutant "${mutant}"; use one of: ${MUTANT_NAMES.join(', ')}`);
      options = { ...options, mutant: mutant as MutantName };
    } else if (name === '--start') {
      const start = value();
      const starts: StartKind[] | undefined = start === 'both' ? ['published', 'empty'] : start === 'published' || start === 'empty' ? [start] : undefined;
      if (starts === undefined) throw new UsageError(`--start must be published, empty or both (got "${start}")`);
      options = { ...options, starts };
    } else if (name === '--json') {
      json = value();
    } else if (name === '--help' && inline === undefined) {
      throw new HelpRequested();
    } else if (name === '--all' && inline === undefined) {
      options = { ...options, allViolations: true };
    } else if (name === '--use-separately' && inline === undefined) {
      options = { ...options, useSeparately: true };
    } else if (name === '--split-store' && inline === undefined) {
      options = { ...options, splitStore: true };
    } else if (name === '--no-symmetry' && inline === undefined) {
      options = { ...options, symmetry: false };
    } else if (name === '--strict-economy' && inline === undefined) {
      options = { ...options, strictEconomy: true };
    } else {
      throw new UsageError(`unknown flag "${flag}"`);
    }
  }
  const problem = optionsProblem(options);
  if (problem !== undefined) throw new UsageError(problem);
  return { options, json };
}

function describeRun(options: ExplorerConstraints): string {
  return (
    `baton explorer: ${options.mutant === undefined ? 'real protocol' : `mutant "${options.mutant}"`}, ${options.instances} instances × ${options.calls} calls ` +
    `(maxAttempts ${options.maxAttempts}); faults ≤ ${options.invalidations} invalidation, ${options.crashes} crash, ${options.lostResponses} lost write answer, ` +
    `${options.unknownOutcomes} unknown POST /auth outcome, ${options.orphanedIssues} orphaned POST /auth, ${options.freezes} freeze, ${options.refusals} refusal, ${options.heartbeats} heartbeat per POST /auth ` +
    `(fault cost ≤ ${options.maxFaults}); start: ${options.starts.join(' + ')}${options.symmetry ? '; symmetry reduction on' : ''}`
  );
}

function summary(report: ExploreReport): string {
  return (
    `states ${report.states.toLocaleString('en-US')}, transitions ${report.transitions.toLocaleString('en-US')}, max depth ${report.maxDepth}, ` +
    `settled states ${report.settledStates.toLocaleString('en-US')}, ${report.seconds.toFixed(1)} s (cpu ${report.cpuSeconds.toFixed(1)} s), ${report.statesPerSecond.toLocaleString('en-US')} states/s ` +
    `(machine steps computed ${report.machineTransitions.toLocaleString('en-US')}, memo hits ${report.memoHits.toLocaleString('en-US')})`
  );
}

/** Where the CLI writes. */
export interface CliOutput {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const PROCESS_OUTPUT: CliOutput = { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) };

/**
 * Runs the explorer as the command line asks; returns the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = runCli(['--instances', '2']);
 * ```
 */
export function runCli(argv: readonly string[], io: CliOutput = PROCESS_OUTPUT): number {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (error instanceof HelpRequested) {
      io.out(USAGE);
      return 0;
    }
    if (!(error instanceof UsageError)) throw error;
    io.err(`verify: ${error.message} (npm run verify -- --help lists the flags)\n`);
    return 2;
  }
  const { options, json } = parsed;
  io.out(`${describeRun(options)}\n`);
  const report = explore(options, (p) => {
    io.err(`  … ${p.states.toLocaleString('en-US')} states, ${p.transitions.toLocaleString('en-US')} transitions, depth ${p.depth}, ${p.seconds.toFixed(0)} s\n`);
  });
  io.out(`${summary(report)}\n`);
  if (json !== undefined) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  if (report.violations.length > 0) {
    for (const example of report.violations) io.out(`\n${formatCounterexample(example)}\n`);
    io.out(`\n${report.violations.map((v) => `${v.invariant}: ${INVARIANTS[v.invariant]}`).filter((line, i, all) => all.indexOf(line) === i).join('\n')}\n`);
    return 1;
  }
  if (!report.complete) {
    io.out(`INCOMPLETE: stopped at the state limit (${options.maxStates.toLocaleString('en-US')}); nothing is proven. Raise --max-states.\n`);
    return 3;
  }
  io.out(`OK: I0–I3, I5, I5a, I6, I7 hold in every reachable state.\n`);
  return 0;
}
