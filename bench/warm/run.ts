/**
 * The warm-path part of the report: overhead per `withToken`, DynamoDB calls per 1000 warm
 * messages, and memory per instance.
 */
import type { WarmPathResult } from '../core/result.js';
import { MEMORY_COORDINATORS, MEMORY_COORDINATORS_QUICK, measureMemoryPerInstance } from './memory.js';
import { OVERHEAD_FULL, OVERHEAD_QUICK, measureOverhead } from './overhead.js';
import type { OverheadResult } from './overhead.js';

/** Everything the warm-path harness measured. */
export interface WarmBenchResult {
  readonly warmPath: WarmPathResult;
  readonly memoryBytesPerInstance: number;
  /** The raw timings behind `overheadNsPerCall` (for the docs). */
  readonly detail: OverheadResult;
}

/**
 * Runs the warm-path harness.
 *
 * @example
 * ```ts
 * const warm = await runWarmBench({ quick: true });
 * warm.warmPath.ddbCallsPer1000; // 0
 * ```
 */
export async function runWarmBench(options: { readonly quick: boolean }): Promise<WarmBenchResult> {
  const detail = await measureOverhead(options.quick ? OVERHEAD_QUICK : OVERHEAD_FULL);
  const memoryBytesPerInstance = await measureMemoryPerInstance(options.quick ? MEMORY_COORDINATORS_QUICK : MEMORY_COORDINATORS);
  return {
    warmPath: { ddbCallsPer1000: detail.ddbCallsPer1000, overheadNsPerCall: detail.overheadNsPerCall },
    memoryBytesPerInstance,
    detail,
  };
}
