/**
 * The bench table naive and textbook use, in memory: consistent reads and conditional puts that
 * take effect atomically when the request reaches the table.
 */
import type { BenchItem, PutCondition } from '../core/strategy.js';

/** Most items the table holds (the strategies use two keys; this catches a runaway key). */
export const VIRTUAL_ITEMS_MAX = 64;

/**
 * Whether `item` satisfies `condition` (every listed attribute equals its value, or is absent
 * when the value is `null`).
 *
 * @example
 * ```ts
 * conditionHolds(undefined, { owner: null }); // true: absent item, absent attribute
 * ```
 */
export function conditionHolds(item: BenchItem | undefined, condition: PutCondition | undefined): boolean {
  if (condition === undefined) return true;
  for (const [name, expected] of Object.entries(condition)) {
    const actual = item?.[name];
    if (expected === null ? actual !== undefined : actual !== expected) return false;
  }
  return true;
}

/**
 * The table itself; synchronous, so each operation is linearized at the instant it is applied.
 *
 * @example
 * ```ts
 * const table = new VirtualItemTable();
 * table.put('lock', { owner: 'a' }, { owner: null }); // true
 * table.put('lock', { owner: 'b' }, { owner: null }); // false
 * ```
 */
export class VirtualItemTable {
  readonly #items = new Map<string, BenchItem>();

  get(key: string): BenchItem | undefined {
    return this.#items.get(key);
  }

  put(key: string, item: BenchItem, condition?: PutCondition): boolean {
    if (!conditionHolds(this.#items.get(key), condition)) return false;
    if (!this.#items.has(key) && this.#items.size >= VIRTUAL_ITEMS_MAX) throw new Error(`virtual table holds more than ${VIRTUAL_ITEMS_MAX} items`);
    this.#items.set(key, Object.freeze({ ...item }));
    return true;
  }

  delete(key: string, condition?: PutCondition): boolean {
    if (!conditionHolds(this.#items.get(key), condition)) return false;
    this.#items.delete(key);
    return true;
  }
}
