/**
 * The strategies this package compares in both modes (`lock-client`, wall clock only, lives in
 * `lock-client.ts`, owned by the wall-clock bench).
 */
import type { ScenarioName } from '../core/result.js';
import { batonTuningFor } from '../core/scenarios.js';
import type { Strategy } from '../core/strategy.js';
import { batonStrategy } from './baton.js';
import { naiveStrategy } from './naive.js';
import { textbookStrategy } from './textbook.js';

export { batonStrategy } from './baton.js';
export { naiveStrategy } from './naive.js';
export { textbookStrategy } from './textbook.js';

/** Strategies that run in both modes. */
export const SHARED_STRATEGY_NAMES = ['baton', 'naive', 'textbook'] as const;
/** One of {@link SHARED_STRATEGY_NAMES}. */
export type SharedStrategyName = (typeof SHARED_STRATEGY_NAMES)[number];

/** Per-run knobs of the shared strategies. */
export interface SharedStrategyOptions {
  /** Baton's `pollMs`; the library default when absent. */
  readonly batonPollMs?: number;
}

/**
 * The strategy `name` configured for `scenario` (Baton's lease follows the slow-issuer rule).
 *
 * @example
 * ```ts
 * sharedStrategy('baton', 'slow-issuer').create(env);
 * ```
 */
export function sharedStrategy(name: SharedStrategyName, scenario: ScenarioName, options: SharedStrategyOptions = {}): Strategy {
  switch (name) {
    case 'baton':
      return batonStrategy(batonTuningFor(scenario, options.batonPollMs));
    case 'naive':
      return naiveStrategy();
    case 'textbook':
      return textbookStrategy();
  }
}

/**
 * Lookup by name for loaders (the wall-clock workers): the shared strategy configured for
 * `scenario` (default `invalidation-burst`), or `undefined` for a name this module does not own.
 *
 * @example
 * ```ts
 * strategyFor('baton', 'slow-issuer'); // Baton with leaseMs 1500
 * strategyFor('lock-client'); // undefined: wall-clock mode owns it
 * ```
 */
export function strategyFor(name: string, scenario: ScenarioName = 'invalidation-burst'): Strategy | undefined {
  return (SHARED_STRATEGY_NAMES as readonly string[]).includes(name) ? sharedStrategy(name as SharedStrategyName, scenario) : undefined;
}
