/**
 * A handle on the garbage collector without asking users for `--expose-gc`: the flag can be
 * set at run time, and a fresh context then exposes `gc`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Returns a function that runs a full garbage collection.
 *
 * @example
 * ```ts
 * const gc = garbageCollector();
 * gc();
 * ```
 */
export function garbageCollector(): () => void {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return existing as () => void;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
