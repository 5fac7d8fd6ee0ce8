/**
 * The `npm run bench` command line, checked strictly: an unknown flag, a missing or malformed
 * value exits 2 naming the flag.
 */
import { SCENARIO_NAMES } from './result.js';
import type { ScenarioName } from './result.js';
import { DEFAULT_AUTH_MS, DEFAULT_DDB_MS } from './scenarios.js';
import { STRATEGY_NAMES } from './strategy.js';
import type { StrategyName } from './strategy.js';

/** Bench modes selectable on the command line. */
export const MODE_CHOICES = ['virtual', 'wall', 'all'] as const;
/** One of {@link MODE_CHOICES}. */
export type ModeChoice = (typeof MODE_CHOICES)[number];

/** Largest fleet in virtual time. */
export const VIRTUAL_INSTANCES_LIMIT = 1_000;
/** Largest fleet in wall-clock mode (OS processes on one machine). */
export const WALL_INSTANCES_LIMIT = 32;
/** Bounds of `--auth-ms` and `--ddb-ms`. */
export const AUTH_MS_LIMIT = 60_000;
export const DDB_MS_LIMIT = 10_000;
/** Bounds of `--baton-poll-ms` (Baton's own `pollMs` range up to the default lease). */
export const POLL_MS_MIN = 5;
export const POLL_MS_LIMIT = 10_000;
/** Largest seed (32 bits). */
export const SEED_MAX = 2 ** 32 - 1;

/** Parsed command line. */
export interface BenchArgs {
  readonly help: boolean;
  readonly quick: boolean;
  readonly mode: ModeChoice;
  readonly seed: number;
  /** `undefined`: per-scenario defaults. */
  readonly instances: readonly number[] | undefined;
  readonly scenarios: readonly ScenarioName[];
  readonly strategies: readonly StrategyName[];
  readonly authMs: number;
  readonly ddbMs: number;
  readonly batonPollMs: number | undefined;
  readonly jsonPath: string;
  readonly docsDir: string;
  /** Whether `--scenario`, `--strategy` or `--instances` narrowed the run (then the docs are left alone). */
  readonly filtered: boolean;
}

/** A bad command line; `main` prints it with the usage and exits 2. */
export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

/** The `--help` text. */
export const USAGE = `Usage: npm run bench -- [flags]

Compares baton, naive, textbook (and lock-client, wall clock only) in virtual time and on the wall clock.

  --quick                 CI-sized subset (under a minute); writes reports/bench.json only
  --mode virtual|wall|all which bench to run (default all)
  --seed N                seed of every random choice, 0..${SEED_MAX} (default 1; printed at start)
  --instances LIST        fleet sizes, e.g. 1,10,100 (virtual 1..${VIRTUAL_INSTANCES_LIMIT}, wall 1..${WALL_INSTANCES_LIMIT}; default per scenario)
  --scenario LIST         some of ${SCENARIO_NAMES.join(', ')} (default all)
  --strategy LIST         some of ${STRATEGY_NAMES.join(', ')} (default all)
  --auth-ms MS            POST /auth latency (default ${DEFAULT_AUTH_MS})
  --ddb-ms MS             DynamoDB round trip in virtual time (default ${DEFAULT_DDB_MS})
  --baton-poll-ms MS      Baton's pollMs (default: the library's 100)
  --json PATH             report path (default reports/bench.json)
  --docs-dir DIR          where benchmarks.md and the charts go (default docs; full unfiltered runs only)
  --help                  this text

Exit codes: 0 done (targets are reported, not enforced), 1 the bench failed, 2 bad command line.`;

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new BenchUsageError(`${flag} needs an integer from ${min} to ${max}; got "${text}"`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new BenchUsageError(`${flag} needs an integer from ${min} to ${max}; got ${text}`);
  return value;
}

function list<T extends string>(flag: string, text: string, choices: readonly T[]): T[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.length === 0 || items.some((item) => item === '')) throw new BenchUsageError(`${flag} needs a comma-separated list of: ${choices.join(', ')}`);
  for (const item of items) {
    if (!(choices as readonly string[]).includes(item)) throw new BenchUsageError(`${flag}: unknown value "${item}"; choose from ${choices.join(', ')}`);
  }
  return [...new Set(items)] as T[];
}

/**
 * Parses `argv` (without `node` and the script).
 *
 * @throws {@link BenchUsageError} naming the bad flag.
 * @example
 * ```ts
 * parseBenchArgs(['--quick', '--mode', 'virtual']).mode; // 'virtual'
 * ```
 */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let help = false;
  let quick = false;
  let mode: ModeChoice = 'all';
  let seed = 1;
  let instances: number[] | undefined;
  let scenarios: ScenarioName[] = [...SCENARIO_NAMES];
  let strategies: StrategyName[] = [...STRATEGY_NAMES];
  let authMs = DEFAULT_AUTH_MS;
  let ddbMs = DEFAULT_DDB_MS;
  let batonPollMs: number | undefined;
  let jsonPath = 'reports/bench.json';
  let docsDir = 'docs';
  let filtered = false;
  const seen = new Set<string>();
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    const [flag = '', inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (seen.has(flag)) throw new BenchUsageError(`${flag} given twice`);
    seen.add(flag);
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[index + 1];
      if (next === undefined || next.startsWith('--')) throw new BenchUsageError(`${flag} needs a value`);
      index += 1;
      return next;
    };
    const noValue = (): void => {
      if (inline !== undefined) throw new BenchUsageError(`${flag} takes no value`);
    };
    switch (flag) {
      case '--help':
      case '-h':
        noValue();
        help = true;
        break;
      case '--quick':
        noValue();
        quick = true;
        break;
      case '--mode':
      {
        const text = value();
        if (!(MODE_CHOICES as readonly string[]).includes(text)) throw new BenchUsageError(`--mode: unknown value "${text}"; choose from ${MODE_CHOICES.join(', ')}`);
        mode = text as ModeChoice;
        break;
      }
      case '--seed':
        seed = integer('--seed', value(), 0, SEED_MAX);
        break;
      case '--instances':
        instances = value()
          .split(',')
          .map((item) => integer('--instances', item.trim(), 1, VIRTUAL_INSTANCES_LIMIT));
        instances = [...new Set(instances)].sort((a, b) => a - b);
        filtered = true;
        break;
      case '--scenario':
        scenarios = list('--scenario', value(), SCENARIO_NAMES);
        filtered = true;
        break;
      case '--strategy':
        strategies = list('--strategy', value(), STRATEGY_NAMES);
        filtered = true;
        break;
      case '--auth-ms':
        authMs = integer('--auth-ms', value(), 1, AUTH_MS_LIMIT);
        break;
      case '--ddb-ms':
        ddbMs = integer('--ddb-ms', value(), 1, DDB_MS_LIMIT);
        break;
      case '--baton-poll-ms':
        batonPollMs = integer('--baton-poll-ms', value(), POLL_MS_MIN, POLL_MS_LIMIT);
        break;
      case '--json':
        jsonPath = value();
        break;
      case '--docs-dir':
        docsDir = value();
        break;
      default:
        throw new BenchUsageError(arg.startsWith('-') ? `unknown flag ${flag}` : `unexpected argument "${arg}" (flags start with --)`);
    }
  }
  if (mode !== 'virtual' && instances !== undefined && instances.some((n) => n > WALL_INSTANCES_LIMIT)) {
    throw new BenchUsageError(`--instances above ${WALL_INSTANCES_LIMIT} need --mode virtual (the wall-clock bench runs at most ${WALL_INSTANCES_LIMIT} processes)`);
  }
  return { help, quick, mode, seed, instances, scenarios, strategies, authMs, ddbMs, batonPollMs, jsonPath, docsDir, filtered };
}
