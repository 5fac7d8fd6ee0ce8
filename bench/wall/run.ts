/**
 * The wall-clock mode of `npm run bench`: embedded dynalite, a fake chat API over HTTP (a fresh
 * one per run), and real OS worker processes (up to 32 per run) hosting the strategies. What is
 * run and every bound are in `plan.ts`; what one run measures is in `run-config.ts`.
 */
import { randomBytes } from 'node:crypto';
import type { BenchResult, ScenarioName } from '../core/result.js';
import type { StrategyName } from '../core/strategy.js';
import { startWallInfra } from './infra.js';
import { planWallRuns } from './plan.js';
import { WallWorkerPool } from './pool.js';
import { runWallConfiguration } from './run-config.js';
import { SECRET_ENV } from './worker-env.js';

/** Bytes of the random chat secret of a bench (never printed). */
const SECRET_BYTES = 24;
/** Smallest accepted `authMs`. */
export const AUTH_MS_MIN = 1;
/** Largest accepted `authMs` (a minute: longer would only make every run hit its bound). */
export const AUTH_MS_MAX = 60_000;

/** Options of {@link runWallBench}. */
export interface WallBenchOptions {
  /** The CI-sized subset: one incident per run, shorter bounds, the quick crash size (see `plan.ts`). */
  readonly quick: boolean;
  /** Drives every random choice (instances' randomness, token generation). */
  readonly seed: number;
  /** Fleet sizes of `invalidation-burst`; the other scenarios use the one closest to 8 (1..32). */
  readonly instances: readonly number[];
  readonly scenarios: readonly ScenarioName[];
  readonly strategies: readonly StrategyName[];
  /** `POST /auth` latency, ms (`slow-issuer` replaces it with 1.5 × the lease). */
  readonly authMs: number;
  /** One line per run and per notable event; silent when absent. */
  readonly log?: (line: string) => void;
}

/**
 * Runs the wall-clock bench and returns one result row per run (mode `wall`). Every worker process
 * is killed before it returns or throws.
 *
 * @example
 * ```ts
 * const results = await runWallBench({ quick: true, seed: 1, instances: [1, 8], scenarios: ['invalidation-burst'], strategies: ['baton', 'naive'], authMs: 300, log: console.log });
 * ```
 */
export async function runWallBench(options: WallBenchOptions): Promise<BenchResult[]> {
  if (!Number.isSafeInteger(options.authMs) || options.authMs < AUTH_MS_MIN || options.authMs > AUTH_MS_MAX) {
    throw new RangeError(`authMs must be an integer from ${AUTH_MS_MIN} to ${AUTH_MS_MAX}; got ${options.authMs}`);
  }
  const log = options.log ?? ((): void => undefined);
  const runs = planWallRuns(options);
  if (runs.length === 0) return [];
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const infra = await startWallInfra();
  const pool = new WallWorkerPool({
    env: {
      ...process.env,
      [SECRET_ENV]: secret,
      // Keep worker output free of SDK notices (v2 maintenance mode, v3 Node-version warning).
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  const results: BenchResult[] = [];
  try {
    const largest = Math.max(...runs.map((run) => run.instances + (run.scenario === 'holder-crash' ? run.incidents : 0)));
    log(`wall: ${runs.length} runs, dynalite at ${infra.endpoint}, starting ${largest} worker processes`);
    // Start every process before the first run, so no measurement shares the CPU with process starts.
    await pool.take(largest);
    const context = { pool, infra, secret, seed: options.seed, authMs: options.authMs, log };
    for (const [index, spec] of runs.entries()) {
      const outcome = await runWallConfiguration(context, spec, index + 1);
      results.push(outcome.result);
      const r = outcome.result;
      log(
        `wall ${spec.strategy.padEnd(11)} ${spec.scenario.padEnd(18)} N=${String(spec.instances).padStart(2)}: ` +
          `auth/inc ${r.authCallsPerIncident}, 401/inc ${r.rejectionsPerIncident}, reads/inc ${r.ddbReadsPerIncident}, writes/inc ${r.ddbWritesPerIncident}, ` +
          `settle p50 ${r.settleMsP50 ?? '—'} ms p99 ${r.settleMsP99 ?? '—'} ms, lost ${r.lostMessages} (${(outcome.durationMs / 1000).toFixed(1)} s)` +
          (outcome.notes.length === 0 ? '' : ` [${outcome.notes.join(' | ')}]`),
      );
    }
  } finally {
    await pool.close();
    await infra.close();
  }
  return results;
}
