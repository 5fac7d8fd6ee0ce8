/**
 * Baton's targets from issue #5, judged against the measured results (never adjusted to pass).
 */
import type { BenchResult, ScenarioName, WarmPathResult } from '../core/result.js';

/** One target line of the report. */
export interface TargetResult {
  readonly name: string;
  readonly met: boolean;
  /** The measured value (the worst over the runs it covers); `null` when a run never settled. */
  readonly value: number | null;
  readonly limit: number;
}

/** Scenarios with no crash and an issuer faster than the lease: where "one `POST /auth` per incident" must hold. */
export const NORMAL_SCENARIOS: readonly ScenarioName[] = ['invalidation-burst', 'token-expiry', 'skewed-clock'];
/** Largest warm-path overhead allowed. */
export const OVERHEAD_NS_LIMIT = 2_000;
/** Settle p50 limit factor over (auth + 3 DynamoDB round trips). */
export const SETTLE_LIMIT_FACTOR = 1.25;

/** Inputs of {@link evaluateTargets}. */
export interface TargetInputs {
  readonly results: readonly BenchResult[];
  readonly warmPath: WarmPathResult | undefined;
  readonly authMs: number;
  readonly ddbMs: number;
}

function worst(values: readonly (number | null)[]): number | null {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of values) {
    if (value === null) return null;
    max = Math.max(max, value);
  }
  return max;
}

/**
 * Evaluates every target that the run has data for (a filtered run skips the others).
 *
 * @example
 * ```ts
 * evaluateTargets({ results, warmPath, authMs: 300, ddbMs: 10 }).filter((target) => !target.met);
 * ```
 */
export function evaluateTargets(inputs: TargetInputs): TargetResult[] {
  const baton = inputs.results.filter((result) => result.strategy === 'baton');
  const normal = baton.filter((result) => NORMAL_SCENARIOS.includes(result.scenario));
  const targets: TargetResult[] = [];
  if (normal.length > 0) {
    const values = normal.map((result) => result.authCallsPerIncident);
    targets.push({
      name: 'baton: POST /auth per incident, every N, no crash, issuer faster than the lease (worst run)',
      met: values.every((value) => value === 1),
      value: worst(values),
      limit: 1,
    });
  }
  const normalVirtual = normal.filter((result) => result.mode === 'virtual');
  if (normalVirtual.length > 0) {
    const limit = SETTLE_LIMIT_FACTOR * (inputs.authMs + 3 * inputs.ddbMs);
    const value = worst(normalVirtual.map((result) => result.settleMsP50));
    targets.push({ name: `baton: settle p50 in virtual time, ms (worst run; limit 1.25 × (auth + 3 × DynamoDB))`, met: value !== null && value <= limit, value, limit });
  }
  if (inputs.warmPath !== undefined) {
    targets.push({ name: 'baton: DynamoDB calls per 1000 warm messages', met: inputs.warmPath.ddbCallsPer1000 === 0, value: inputs.warmPath.ddbCallsPer1000, limit: 0 });
    targets.push({
      name: 'baton: withToken overhead on the warm path, ns per call',
      met: inputs.warmPath.overheadNsPerCall < OVERHEAD_NS_LIMIT,
      value: inputs.warmPath.overheadNsPerCall,
      limit: OVERHEAD_NS_LIMIT,
    });
  }
  if (baton.length > 0) {
    const value = baton.reduce((sum, result) => sum + result.lostMessages, 0);
    targets.push({ name: 'baton: lost messages, every scenario (total)', met: value === 0, value, limit: 0 });
  }
  return targets;
}
