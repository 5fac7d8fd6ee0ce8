/**
 * Memory per instance: the heap growth of many warm coordinators (each with its cached token
 * and machine snapshot), divided by their number, after full garbage collections.
 */
import type { TokenCoordinator } from '../../src/runtime/api.js';
import { garbageCollector } from './gc.js';
import { memoryStore, warmCoordinator } from './harness.js';

/** Coordinators created for the full measurement. */
export const MEMORY_COORDINATORS = 2_000;
/** Coordinators created with `--quick`. */
export const MEMORY_COORDINATORS_QUICK = 500;

/**
 * Bytes of heap per warm coordinator.
 *
 * @example
 * ```ts
 * const bytes = await measureMemoryPerInstance(500);
 * ```
 */
export async function measureMemoryPerInstance(coordinators: number): Promise<number> {
  const gc = garbageCollector();
  const store = memoryStore();
  // The first coordinator publishes the token; it and the store are not counted.
  await warmCoordinator(store, 'mem-first');
  gc();
  gc();
  const beforeBytes = process.memoryUsage().heapUsed;
  const kept: TokenCoordinator[] = [];
  for (let i = 0; i < coordinators; i += 1) kept.push((await warmCoordinator(store, `mem-${i}`)).coordinator);
  gc();
  gc();
  const afterBytes = process.memoryUsage().heapUsed;
  if (kept.length !== coordinators) throw new Error('unreachable: every coordinator is kept until measured');
  return Math.round((afterBytes - beforeBytes) / coordinators);
}
