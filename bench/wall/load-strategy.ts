/**
 * Finds a strategy by name for a worker process: `lock-client` is this mode's own; the shared
 * ones come from `bench/strategies/index.ts`, configured for the scenario (Baton's lease in
 * `slow-issuer`), exactly as virtual time configures them.
 */
import type { ScenarioName } from '../core/result.js';
import type { Strategy, StrategyName } from '../core/strategy.js';
import { strategyFor } from '../strategies/index.js';
import { lockClientStrategy } from '../strategies/lock-client.js';

/**
 * The strategy called `name`, configured for `scenario`.
 *
 * @throws Error when no strategy has that name or it cannot run in wall-clock mode.
 * @example
 * ```ts
 * const strategy = loadStrategy('baton', 'slow-issuer');
 * ```
 */
export function loadStrategy(name: StrategyName, scenario: ScenarioName): Strategy {
  const strategy = name === 'lock-client' ? lockClientStrategy : strategyFor(name, scenario);
  if (strategy === undefined) throw new Error(`no strategy named ${name}`);
  if (!strategy.modes.includes('wall')) throw new Error(`strategy ${name} does not run in wall-clock mode`);
  return strategy;
}
