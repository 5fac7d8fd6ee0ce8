/**
 * The shape of `reports/bench.json` (the issue fixes the field names of `results[]` and `warmPath`).
 */
import type { StrategyName } from './strategy.js';

/** Scenarios every mode runs. */
export const SCENARIO_NAMES = ['invalidation-burst', 'token-expiry', 'holder-crash', 'slow-issuer', 'skewed-clock'] as const;
/** One scenario. */
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Bench modes. */
export type BenchMode = 'virtual' | 'wall';

/** One row of `results[]`: one strategy in one scenario at one fleet size, averaged per incident. */
export interface BenchResult {
  readonly strategy: StrategyName;
  readonly scenario: ScenarioName;
  readonly mode: BenchMode;
  readonly instances: number;
  readonly authCallsPerIncident: number;
  readonly rejectionsPerIncident: number;
  readonly ddbReadsPerIncident: number;
  readonly ddbWritesPerIncident: number;
  /** From the incident until every instance uses the token the chat API accepts; `null` when it never settled. */
  readonly settleMsP50: number | null;
  readonly settleMsP99: number | null;
  readonly lostMessages: number;
}

/** `warmPath` of the report (Baton's cost when the token is good). */
export interface WarmPathResult {
  readonly ddbCallsPer1000: number;
  readonly overheadNsPerCall: number;
}
