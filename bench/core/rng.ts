/**
 * Seeded randomness for the bench. Every run derives its own stream from the CLI seed and the
 * run's name, so filtering (`--strategy baton`) never changes the numbers of the runs kept.
 */

/** A source of numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: tiny, fast, and good enough for jitter; not for cryptography.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // the same first number on every machine
 * ```
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A 32-bit seed derived from a base seed and labels (FNV-1a over the text), so independent runs
 * get independent streams.
 *
 * @example
 * ```ts
 * deriveSeed(1, 'baton', 'invalidation-burst', 100); // stable across runs and filters
 * ```
 */
export function deriveSeed(seed: number, ...labels: readonly (string | number)[]): number {
  let hash = 0x811c9dc5;
  const text = [seed, ...labels].join('|');
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * A latency jittered by ±`fraction` around `meanMs`, rounded to whole milliseconds (whole
 * milliseconds let the virtual clock batch simultaneous events). Never below 1 ms.
 *
 * @example
 * ```ts
 * jitteredMs(random, 300, 0.1); // 270..330
 * ```
 */
export function jitteredMs(random: Random, meanMs: number, fraction: number): number {
  const spread = meanMs * fraction;
  return Math.max(1, Math.round(meanMs - spread + random() * 2 * spread));
}
