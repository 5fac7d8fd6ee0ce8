import { describe, expect, it } from 'vitest';
import { percentile, summarize } from '../../src/demo/percentile.js';

describe('demo percentile (nearest rank)', () => {
  it('is null for no values', () => {
    expect(percentile([], 50)).toBeNull();
    expect(summarize([])).toEqual({ p50: null, p99: null, max: null });
  });

  it('picks the smallest value covering p percent', () => {
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 75)).toBe(3);
    expect(percentile([1, 2, 3, 4], 76)).toBe(4);
    expect(percentile([7], 1)).toBe(7);
  });

  it('gives p99 = max below 100 values and the 99th of 100', () => {
    expect(summarize([10, 20, 30, 40, 50, 60])).toEqual({ p50: 30, p99: 60, max: 60 });
    const hundred = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(summarize(hundred)).toEqual({ p50: 50, p99: 99, max: 100 });
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  it('refuses percentiles outside (0, 100]', () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});
