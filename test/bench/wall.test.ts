/**
 * The wall-clock bench: its pure parts (conditions, plan, gaps, message ids), then one small real
 * run (dynalite, the fake chat API over HTTP, two worker processes per strategy) of Baton and
 * naive in an invalidation burst, checking the result shapes and Baton's targets.
 */
import { describe, expect, it } from 'vitest';
import { instanceIdOf } from '../../bench/wall/fleet.js';
import { conditionParts } from '../../bench/wall/item-store.js';
import { INCIDENTS_FULL, INCIDENTS_FULL_SLOW, INCIDENTS_QUICK, WALL_QUICK, messageGapMs, planWallRuns } from '../../bench/wall/plan.js';
import { runWallBench } from '../../bench/wall/run.js';

/** Seed of the real run (printed, so a failure names it). */
const SEED = Number(process.env['BENCH_SEED'] ?? '1');

describe('conditionParts', () => {
  it('turns values into equality and null into attribute_not_exists, with numbered placeholders', () => {
    expect(conditionParts({ token: 't1', lock: null })).toEqual({
      ConditionExpression: '#a0 = :v0 AND attribute_not_exists(#a1)',
      ExpressionAttributeNames: { '#a0': 'token', '#a1': 'lock' },
      ExpressionAttributeValues: { ':v0': 't1' },
    });
  });

  it('leaves out values when every clause is an absence, and is undefined for no clause', () => {
    expect(conditionParts({ lock: null })).toEqual({ ConditionExpression: 'attribute_not_exists(#a0)', ExpressionAttributeNames: { '#a0': 'lock' } });
    expect(conditionParts({})).toBeUndefined();
  });
});

describe('planWallRuns', () => {
  it('runs the burst at every size and the other scenarios at the size closest to 8, at least the scenario minimum', () => {
    const runs = planWallRuns({ quick: false, instances: [1, 8, 32], scenarios: ['invalidation-burst', 'holder-crash', 'slow-issuer'], strategies: ['baton'] });
    expect(runs.map((run) => [run.scenario, run.instances, run.incidents])).toEqual([
      ['invalidation-burst', 1, INCIDENTS_FULL],
      ['invalidation-burst', 8, INCIDENTS_FULL],
      ['invalidation-burst', 32, INCIDENTS_FULL],
      ['holder-crash', 8, INCIDENTS_FULL_SLOW],
      ['slow-issuer', 8, INCIDENTS_FULL_SLOW],
    ]);
    expect(planWallRuns({ quick: false, instances: [1], scenarios: ['holder-crash'], strategies: ['naive'] })[0]?.instances).toBe(2);
  });

  it('quick: one incident per run, every strategy, and a crash (if asked for) at its quick size', () => {
    const runs = planWallRuns({ quick: true, instances: WALL_QUICK.instances, scenarios: [...WALL_QUICK.scenarios, 'holder-crash'], strategies: ['baton', 'lock-client'] });
    expect(runs.every((run) => run.incidents === INCIDENTS_QUICK)).toBe(true);
    expect(runs.filter((run) => run.scenario === 'holder-crash').map((run) => run.instances)).toEqual([WALL_QUICK.crashInstances, WALL_QUICK.crashInstances]);
    expect(runs.filter((run) => run.scenario === 'invalidation-burst')).toHaveLength(4);
  });

  it('refuses fleet sizes outside 1..32', () => {
    expect(() => planWallRuns({ quick: true, instances: [33], scenarios: ['invalidation-burst'], strategies: ['baton'] })).toThrow(RangeError);
    expect(() => planWallRuns({ quick: true, instances: [0], scenarios: ['invalidation-burst'], strategies: ['baton'] })).toThrow(RangeError);
  });
});

describe('traffic and message ids', () => {
  it('keeps the fleet under its message rate by stretching the gap above 10 instances', () => {
    expect(messageGapMs(1)).toBe(50);
    expect(messageGapMs(8)).toBe(50);
    expect(messageGapMs(32)).toBe(160);
  });

  it('finds the instance of a message id', () => {
    expect(instanceIdOf('r3i07-152')).toBe('r3i07');
  });
});

describe('runWallBench (real processes, dynalite, HTTP)', () => {
  it('measures Baton and naive in an invalidation burst at N = 2: one POST /auth per incident for Baton, nothing lost', async () => {
    console.log(`wall bench test seed ${SEED} (BENCH_SEED to replay)`);
    const lines: string[] = [];
    const results = await runWallBench({
      quick: true,
      seed: SEED,
      instances: [2],
      scenarios: ['invalidation-burst'],
      strategies: ['baton', 'naive'],
      authMs: 300,
      log: (line) => lines.push(line),
    });
    expect(results.map((result) => [result.strategy, result.scenario, result.mode, result.instances])).toEqual([
      ['baton', 'invalidation-burst', 'wall', 2],
      ['naive', 'invalidation-burst', 'wall', 2],
    ]);
    for (const result of results) {
      expect(Object.keys(result).sort()).toEqual(
        ['authCallsPerIncident', 'ddbReadsPerIncident', 'ddbWritesPerIncident', 'instances', 'lostMessages', 'mode', 'rejectionsPerIncident', 'scenario', 'settleMsP50', 'settleMsP99', 'strategy'].sort(),
      );
      // Both instances held the invalidated token, so each got at least one 401, and the refresh wrote the item.
      expect(result.rejectionsPerIncident).toBeGreaterThanOrEqual(2);
      expect(result.ddbWritesPerIncident).toBeGreaterThanOrEqual(1);
      expect(result.settleMsP50).not.toBeNull();
      expect(result.settleMsP99 ?? Number.NaN).toBeGreaterThanOrEqual(result.settleMsP50 ?? Number.POSITIVE_INFINITY);
      // Settling needs at least one POST /auth of 300 ms after the incident.
      expect(result.settleMsP50 ?? 0).toBeGreaterThanOrEqual(300);
    }
    const baton = results[0];
    expect(baton?.authCallsPerIncident).toBe(1);
    expect(baton?.lostMessages).toBe(0);
    expect(baton?.ddbReadsPerIncident).toBeGreaterThanOrEqual(1);
    // No token or secret in anything the bench prints.
    expect(lines.join('\n')).not.toMatch(/ct_[0-9a-z]+_[0-9a-f]{8}/);
  }, 60_000);
});
