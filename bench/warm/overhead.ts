/**
 * Overhead of `withToken` on the warm path against calling the function directly, in ns per
 * call: warm-up first (so the JIT has compiled both loops), then several runs of many
 * iterations, each run timing both loops back to back; the median over runs is reported.
 */
import { hrtime } from 'node:process';
import { median } from '../core/percentile.js';
import { countingStore, memoryStore, warmCoordinator, warmFn } from './harness.js';
import type { StoreCallCount } from './harness.js';

/** Sizes of one measurement. */
export interface OverheadOptions {
  readonly iterations: number;
  readonly runs: number;
  readonly warmUpIterations: number;
}

/** Full-run sizes. */
export const OVERHEAD_FULL: OverheadOptions = { iterations: 200_000, runs: 9, warmUpIterations: 100_000 };
/** `--quick` sizes. */
export const OVERHEAD_QUICK: OverheadOptions = { iterations: 50_000, runs: 5, warmUpIterations: 30_000 };
/** Warm calls over which DynamoDB calls are counted (reported per 1000). */
export const WARM_CALLS_COUNTED = 1_000;

/** What the harness measured. */
export interface OverheadResult {
  readonly overheadNsPerCall: number;
  readonly withTokenNsPerCall: number;
  readonly directNsPerCall: number;
  /** Store calls per 1000 warm `withToken` calls. */
  readonly ddbCallsPer1000: number;
}

async function timeLoop(iterations: number, body: () => Promise<number>): Promise<number> {
  let sink = 0;
  const startNs = hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) sink += await body();
  const elapsedNs = Number(hrtime.bigint() - startNs);
  // Using the sink keeps the loop from being optimised away.
  if (sink < 0) throw new Error('unreachable');
  return elapsedNs / iterations;
}

/**
 * Measures the warm-path overhead and store calls.
 *
 * @example
 * ```ts
 * const { overheadNsPerCall } = await measureOverhead(OVERHEAD_QUICK);
 * ```
 */
export async function measureOverhead(options: OverheadOptions): Promise<OverheadResult> {
  const count: StoreCallCount = { calls: 0 };
  const { coordinator } = await warmCoordinator(countingStore(memoryStore(), count), 'warm-0');
  const token = 'warm-path-fixture';
  const direct = (): Promise<number> => warmFn(token);
  const viaBaton = (): Promise<number> => coordinator.withToken(warmFn);

  count.calls = 0;
  for (let i = 0; i < WARM_CALLS_COUNTED; i += 1) await viaBaton();
  const ddbCallsPer1000 = (count.calls * 1_000) / WARM_CALLS_COUNTED;

  await timeLoop(options.warmUpIterations, direct);
  await timeLoop(options.warmUpIterations, viaBaton);
  const withToken: number[] = [];
  const directs: number[] = [];
  const overheads: number[] = [];
  for (let run = 0; run < options.runs; run += 1) {
    const directNs = await timeLoop(options.iterations, direct);
    const withTokenNs = await timeLoop(options.iterations, viaBaton);
    directs.push(directNs);
    withToken.push(withTokenNs);
    overheads.push(withTokenNs - directNs);
  }
  const round1 = (value: number): number => Math.round(value * 10) / 10;
  return {
    overheadNsPerCall: round1(median(overheads)),
    withTokenNsPerCall: round1(median(withToken)),
    directNsPerCall: round1(median(directs)),
    ddbCallsPer1000,
  };
}
