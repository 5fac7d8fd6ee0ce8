/**
 * Shared pieces of the warm-path measurements: a coordinator over an in-memory item whose store
 * calls are counted, already holding its token.
 */
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import type { TokenCoordinator } from '../../src/runtime/api.js';
import { MemoryTokenStore } from '../../src/runtime/memory-store.js';
import type { TokenStore } from '../../src/runtime/store.js';

/** Store calls seen by a {@link countingStore}. */
export interface StoreCallCount {
  calls: number;
}

/**
 * Wraps `inner` so every read and write adds one to `count.calls`.
 *
 * @example
 * ```ts
 * const count = { calls: 0 };
 * const store = countingStore(new MemoryTokenStore(), count);
 * ```
 */
export function countingStore(inner: TokenStore, count: StoreCallCount): TokenStore {
  return {
    read: (options) => {
      count.calls += 1;
      return inner.read(options);
    },
    write: (request) => {
      count.calls += 1;
      return inner.write(request);
    },
    describe: () => inner.describe(),
  };
}

/** The message function of the warm path: does (almost) nothing, so only the coordinator is timed. */
export const warmFn = (token: string): Promise<number> => Promise.resolve(token.length);

/**
 * A coordinator that already fetched its token (so the next calls take the warm path).
 *
 * @example
 * ```ts
 * const { coordinator } = await warmCoordinator(new MemoryTokenStore(), 'w-0');
 * await coordinator.withToken(warmFn); // no store call
 * ```
 */
export async function warmCoordinator(store: TokenStore, instanceId: string): Promise<{ coordinator: TokenCoordinator }> {
  const coordinator = createTokenCoordinator({
    store,
    issueToken: () => Promise.resolve({ token: 'warm-path-fixture' }),
    instanceId,
  });
  await coordinator.withToken(warmFn);
  return { coordinator };
}

/** A fresh in-memory item. */
export function memoryStore(): MemoryTokenStore {
  return new MemoryTokenStore({ historyLimitEntries: 4 });
}
