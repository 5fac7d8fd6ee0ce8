import { describe, expect, it } from 'vitest';
import { measureIncident, settleTimesMs, summarizeIncidents } from '../../bench/core/metrics.js';
import { meanOrNull, median, percentile } from '../../bench/core/percentile.js';
import { deriveSeed, jitteredMs, seededRandom } from '../../bench/core/rng.js';
import { VirtualClock } from '../../bench/virtual/clock.js';
import { TimerHeap } from '../../bench/virtual/heap.js';
import { VirtualItemTable } from '../../bench/virtual/item-store.js';

describe('bench core', () => {
  it('percentiles: nearest rank; an unsettled instance makes the rank it lands on null', () => {
    expect(percentile([40, 10, 30, 20], 50)).toBe(20);
    expect(percentile([40, 10, 30, 20], 99)).toBe(40);
    expect(percentile([10, Number.POSITIVE_INFINITY], 50)).toBe(10);
    expect(percentile([10, Number.POSITIVE_INFINITY], 99)).toBeNull();
    expect(percentile([], 50)).toBeNull();
    expect(meanOrNull([1, 3])).toBe(2);
    expect(meanOrNull([1, null])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('settle: from the incident, 0 for a token adopted before it, Infinity when never used', () => {
    expect(settleTimesMs(1_000, [1_300, 900, undefined])).toEqual([300, 0, Number.POSITIVE_INFINITY]);
    const counts = { authCalls: 2, rejections: 4, ddbReads: 6, ddbWrites: 8, lostMessages: 1 };
    const a = measureIncident(counts, [100, 200]);
    const b = measureIncident({ ...counts, authCalls: 1 }, [300, 400]);
    const row = summarizeIncidents({ strategy: 'baton', scenario: 'invalidation-burst', mode: 'virtual', instances: 2 }, [a, b]);
    expect(row).toMatchObject({ authCallsPerIncident: 1.5, rejectionsPerIncident: 4, settleMsP50: 200, settleMsP99: 300, lostMessages: 2 });
    const unsettled = summarizeIncidents({ strategy: 'baton', scenario: 'invalidation-burst', mode: 'virtual', instances: 2 }, [a, measureIncident(counts, [Number.POSITIVE_INFINITY, 5])]);
    expect(unsettled.settleMsP99).toBeNull();
  });

  it('seeded randomness is reproducible and derived seeds differ per label', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    expect(deriveSeed(1, 'baton', 10)).toBe(deriveSeed(1, 'baton', 10));
    expect(deriveSeed(1, 'baton', 10)).not.toBe(deriveSeed(1, 'naive', 10));
    const random = seededRandom(3);
    for (let i = 0; i < 1_000; i += 1) {
      const ms = jitteredMs(random, 300, 0.2);
      expect(ms >= 240 && ms <= 360 && Number.isInteger(ms)).toBe(true);
    }
  });

  it('the timer heap pops in (time, creation) order', () => {
    const heap = new TimerHeap();
    const random = seededRandom(5);
    const pushed: [number, number][] = [];
    for (let seq = 1; seq <= 500; seq += 1) {
      const atMs = Math.floor(random() * 50);
      pushed.push([atMs, seq]);
      heap.push({ atMs, seq, callback: () => {}, cancelled: false });
    }
    const popped: [number, number][] = [];
    for (let timer = heap.pop(); timer !== undefined; timer = heap.pop()) popped.push([timer.atMs, timer.seq]);
    expect(popped).toEqual([...pushed].sort((x, y) => x[0] - y[0] || x[1] - y[1]));
  });

  it('the virtual clock runs continuations between instants and skips cancelled timers', async () => {
    const clock = new VirtualClock(0);
    const order: string[] = [];
    void clock.sleep(20).then(() => order.push(`a@${clock.nowMs}`));
    const cancelled = clock.schedule(() => order.push('never'), 10);
    clock.scheduler.clearTimeout(cancelled);
    void clock
      .sleep(5)
      .then(() => clock.sleep(5))
      .then(() => order.push(`b@${clock.nowMs}`));
    await clock.run({ untilMs: 100 });
    expect(order).toEqual(['b@10', 'a@20']);
    expect(clock.nowMs).toBe(100);
  });

  it('the virtual table applies conditional puts and deletes atomically', () => {
    const table = new VirtualItemTable();
    expect(table.put('lock', { owner: 'a', atMs: 1 }, { owner: null })).toBe(true);
    expect(table.put('lock', { owner: 'b', atMs: 2 }, { owner: null })).toBe(false);
    expect(table.put('lock', { owner: 'b', atMs: 2 }, { owner: 'a' })).toBe(true);
    expect(table.delete('lock', { owner: 'a' })).toBe(false);
    expect(table.delete('lock', { owner: 'b' })).toBe(true);
    expect(table.get('lock')).toBeUndefined();
  });
});
