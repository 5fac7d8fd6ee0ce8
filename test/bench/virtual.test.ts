import { beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../../bench/core/result.js';
import { SCENARIO_NAMES } from '../../bench/core/result.js';
import { runVirtualBench } from '../../bench/virtual/run.js';
import { runVirtualScenario } from '../../bench/virtual/scenario.js';

const SEED = Number(process.env['BENCH_SEED'] ?? 1);

describe(`virtual-time bench, --quick subset (seed ${SEED})`, () => {
  let results: BenchResult[] = [];
  beforeAll(async () => {
    results = await runVirtualBench({
      quick: true,
      seed: SEED,
      scenarios: SCENARIO_NAMES,
      strategies: ['baton', 'naive', 'textbook', 'lock-client'],
      authMs: 300,
      ddbMs: 10,
    });
  });

  it('produces one well-formed row per strategy, scenario and fleet size (lock-client is wall-clock only)', () => {
    expect(results.length).toBe(3 * (3 + 4));
    for (const result of results) {
      expect(result.mode).toBe('virtual');
      expect(['baton', 'naive', 'textbook']).toContain(result.strategy);
      expect(Object.keys(result).sort()).toEqual(
        [
          'authCallsPerIncident',
          'ddbReadsPerIncident',
          'ddbWritesPerIncident',
          'instances',
          'lostMessages',
          'mode',
          'rejectionsPerIncident',
          'scenario',
          'settleMsP50',
          'settleMsP99',
          'strategy',
        ].sort(),
      );
      for (const key of ['authCallsPerIncident', 'rejectionsPerIncident', 'ddbReadsPerIncident', 'ddbWritesPerIncident', 'lostMessages'] as const) {
        expect(Number.isFinite(result[key]) && result[key] >= 0).toBe(true);
      }
      if (result.settleMsP50 !== null && result.settleMsP99 !== null) expect(result.settleMsP99).toBeGreaterThanOrEqual(result.settleMsP50);
    }
  });

  it('baton: one POST /auth per incident and nothing lost in the invalidation burst at N = 1, 10, 100', () => {
    const burst = results.filter((r) => r.strategy === 'baton' && r.scenario === 'invalidation-burst');
    expect(burst.map((r) => r.instances)).toEqual([1, 10, 100]);
    for (const result of burst) {
      expect(result.authCallsPerIncident).toBe(1);
      expect(result.lostMessages).toBe(0);
      expect(result.rejectionsPerIncident).toBe(result.instances);
      expect(result.settleMsP50).not.toBeNull();
    }
  });

  it('naive: a stampede, more than one POST /auth per incident at N >= 10', () => {
    const naive = results.filter((r) => r.strategy === 'naive' && r.scenario === 'invalidation-burst' && r.instances >= 10);
    expect(naive.length).toBeGreaterThan(0);
    for (const result of naive) expect(result.authCallsPerIncident).toBeGreaterThan(1);
  });

  it('baton loses nothing when the holder crashes; textbook refreshes twice when one clock is 5 s ahead', () => {
    const crash = results.find((r) => r.strategy === 'baton' && r.scenario === 'holder-crash');
    expect(crash?.lostMessages).toBe(0);
    expect(crash?.authCallsPerIncident).toBe(2);
    const skew = results.find((r) => r.strategy === 'textbook' && r.scenario === 'skewed-clock');
    expect(skew?.authCallsPerIncident).toBeGreaterThan(1);
  });
});

describe('determinism', () => {
  it('the same seed gives the same numbers, whatever ran before', async () => {
    const options = { seed: SEED, authMs: 300, ddbMs: 10, incidents: 2 };
    const first = await runVirtualScenario('naive', 'invalidation-burst', 10, options);
    await runVirtualScenario('baton', 'holder-crash', 10, options);
    const again = await runVirtualScenario('naive', 'invalidation-burst', 10, options);
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    const other = await runVirtualScenario('naive', 'invalidation-burst', 10, { ...options, seed: SEED + 1 });
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(first));
  });
});
