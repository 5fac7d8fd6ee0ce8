/**
 * The virtual-time bench: every selected strategy × scenario × fleet size, one after another
 * (each run is independent and seeded from the CLI seed and its own name).
 */
import type { BenchResult, ScenarioName } from '../core/result.js';
import { VIRTUAL_INSTANCES_DEFAULT, VIRTUAL_INSTANCES_QUICK, instancesMinFor } from '../core/scenarios.js';
import type { StrategyName } from '../core/strategy.js';
import { SHARED_STRATEGY_NAMES } from '../strategies/index.js';
import type { SharedStrategyName } from '../strategies/index.js';
import { runVirtualScenario } from './scenario.js';

/** Incidents per run (averaged). */
export const VIRTUAL_INCIDENTS = 3;
/** Incidents per run with `--quick`. */
export const VIRTUAL_INCIDENTS_QUICK = 2;

/** What to run. */
export interface VirtualBenchOptions {
  readonly quick: boolean;
  readonly seed: number;
  /** Fleet sizes for every scenario; per-scenario defaults when absent. */
  readonly instances?: readonly number[];
  readonly scenarios: readonly ScenarioName[];
  readonly strategies: readonly StrategyName[];
  readonly authMs: number;
  readonly ddbMs: number;
  /** Baton's `pollMs` (library default when absent). */
  readonly batonPollMs?: number;
  /** Called after each run (progress output). */
  readonly onResult?: (result: BenchResult, elapsedMs: number) => void;
}

function isShared(name: StrategyName): name is SharedStrategyName {
  return (SHARED_STRATEGY_NAMES as readonly string[]).includes(name);
}

/**
 * Runs the virtual-time bench and returns one result per run, in a stable order.
 *
 * @example
 * ```ts
 * const results = await runVirtualBench({ quick: true, seed: 1, scenarios: ['invalidation-burst'], strategies: ['baton'], authMs: 300, ddbMs: 10 });
 * ```
 */
export async function runVirtualBench(options: VirtualBenchOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const strategies = options.strategies.filter(isShared);
  for (const scenario of options.scenarios) {
    const sizes = options.instances ?? (options.quick ? VIRTUAL_INSTANCES_QUICK : VIRTUAL_INSTANCES_DEFAULT)[scenario];
    for (const instances of sizes) {
      if (instances < instancesMinFor(scenario)) continue;
      for (const strategy of strategies) {
        const startedAtMs = performance.now();
        const result = await runVirtualScenario(strategy, scenario, instances, {
          seed: options.seed,
          authMs: options.authMs,
          ddbMs: options.ddbMs,
          incidents: options.quick ? VIRTUAL_INCIDENTS_QUICK : VIRTUAL_INCIDENTS,
          ...(options.batonPollMs === undefined ? {} : { batonPollMs: options.batonPollMs }),
        });
        results.push(result);
        options.onResult?.(result, performance.now() - startedAtMs);
      }
    }
  }
  return results;
}
