/**
 * A small seeded pseudo-random generator (mulberry32). Every random choice the demo makes goes
 * through one of these, so a seed reproduces the same plan: message texts, arrival jitter,
 * incident times and instance choice.
 */

/** Largest seed accepted (unsigned 32-bit). */
export const SEED_MAX = 0xffff_ffff;

/** A source of random numbers in [0, 1), plus helpers, all derived from one seed. */
export interface Rng {
  /** Next number in [0, 1). */
  next(): number;
  /** Integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** A new independent generator derived from this one and a label (stable across runs). */
  fork(label: string): Rng;
}

/**
 * Creates a seeded generator.
 *
 * @example
 * ```ts
 * const rng = createRng(7);
 * rng.int(1, 6); // same value on every run with seed 7
 * ```
 */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int(min, max) {
      return min + Math.floor(next() * (max - min + 1));
    },
    pick<T>(items: readonly T[]): T {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    fork(label) {
      return createRng(hashLabel(seed, label));
    },
  };
}

/** FNV-1a of the label, mixed with the seed: a stable child seed. */
function hashLabel(seed: number, label: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let index = 0; index < label.length; index += 1) {
    hash ^= label.charCodeAt(index);
    hash = Math.imul(hash, 0x0100_0193) >>> 0;
  }
  return hash >>> 0;
}
