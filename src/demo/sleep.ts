import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits `ms` (at least 0); resolves `false` early if `signal` aborts, `true` otherwise. Never rejects.
 *
 * @example
 * ```ts
 * if (!(await sleep(100, controller.signal))) return; // aborted
 * ```
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return false;
  try {
    await delay(Math.max(0, ms), undefined, signal === undefined ? undefined : { signal });
    return true;
  } catch {
    return false;
  }
}
