import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { FunctionUrlEvent } from '../../src/demo/ipc.js';
import { toFunctionUrlEvent } from '../../src/demo/payload.js';
import { LambdaPool } from '../../src/demo/pool.js';
import type { LambdaPoolOptions, PoolLifecycleEvent } from '../../src/demo/pool.js';
import { createRng } from '../../src/demo/rng.js';

const workerPath = fileURLToPath(new URL('./fixtures/echo-worker.mjs', import.meta.url));
const pools: LambdaPool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

function makePool(overrides: Partial<LambdaPoolOptions> = {}, lifecycle: PoolLifecycleEvent[] = [], events: Array<{ lane: string; event: unknown }> = []): LambdaPool {
  const rng = createRng(3);
  const pool = new LambdaPool({
    workerPath,
    maxInstances: 2,
    queueLimit: 10,
    queueWaitMsMax: 5_000,
    startTimeoutMs: 5_000,
    invocationTimeoutMs: 5_000,
    closeTimeoutMs: 1_000,
    env: { ...process.env },
    laneEnvName: 'BATON_DEMO_LANE',
    random: () => rng.next(),
    onLifecycle: (event) => lifecycle.push(event),
    onWorkerEvent: (lane, event) => events.push({ lane, event }),
    ...overrides,
  });
  pools.push(pool);
  return pool;
}

function event(body: object): FunctionUrlEvent {
  return toFunctionUrlEvent({ method: 'POST', url: '/webhook', headers: {}, body: JSON.stringify(body), sourceIp: '127.0.0.1', host: 'local', requestId: 'r', atMs: Date.now() });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('LambdaPool', () => {
  it('starts one instance, then reuses it warm while it is free', async () => {
    const events: Array<{ lane: string; event: unknown }> = [];
    const pool = makePool({}, [], events);
    const first = await pool.invoke(event({}));
    const second = await pool.invoke(event({}));
    expect(first).toMatchObject({ kind: 'ok', lane: 'i01', coldStart: true, result: { statusCode: 200 } });
    expect(second).toMatchObject({ kind: 'ok', lane: 'i01', coldStart: false });
    expect(pool.stats()).toMatchObject({ started: 1, coldStarts: 1, warmStarts: 1, alive: 1 });
    expect(events.map((entry) => entry.lane)).toEqual(['i01', 'i01']);
  });

  it('scales out only when every instance is busy, up to the limit, then queues', async () => {
    const pool = makePool({ maxInstances: 2 });
    const outcomes = await Promise.all([pool.invoke(event({ sleepMs: 300 })), pool.invoke(event({ sleepMs: 300 })), pool.invoke(event({ sleepMs: 10 }))]);
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['ok', 'ok', 'ok']);
    const lanes = outcomes.map((outcome) => (outcome.kind === 'ok' ? outcome.lane : ''));
    expect(new Set(lanes.slice(0, 2))).toEqual(new Set(['i01', 'i02']));
    expect(pool.stats()).toMatchObject({ started: 2, queuedMax: 1 });
    expect(pool.lanes()).toEqual(['i01', 'i02']);
  });

  it('throttles when the queue is full', async () => {
    const pool = makePool({ maxInstances: 1, queueLimit: 1 });
    const outcomes = await Promise.all([pool.invoke(event({ sleepMs: 200 })), pool.invoke(event({})), pool.invoke(event({}))]);
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['ok', 'ok', 'throttled']);
    expect(pool.stats().throttles).toBe(1);
  });

  it('throttles a request that waited in the queue too long', async () => {
    const pool = makePool({ maxInstances: 1, queueWaitMsMax: 100 });
    const outcomes = await Promise.all([pool.invoke(event({ sleepMs: 400 })), pool.invoke(event({}))]);
    expect(outcomes[1]).toEqual({ kind: 'throttled', reason: 'queue-timeout' });
  });

  it('kills a stuck invocation after the timeout and starts a fresh instance next time', async () => {
    const lifecycle: PoolLifecycleEvent[] = [];
    const pool = makePool({ maxInstances: 1, invocationTimeoutMs: 300 }, lifecycle);
    const stuck = await pool.invoke(event({ hang: true }));
    expect(stuck).toEqual({ kind: 'timeout', lane: 'i01' });
    const pid = lifecycle.find((entry) => entry.type === 'spawn')?.type === 'spawn' ? (lifecycle[0] as { pid: number }).pid : -1;
    const next = await pool.invoke(event({}));
    expect(next).toMatchObject({ kind: 'ok', lane: 'i02', coldStart: true });
    expect(pool.stats()).toMatchObject({ timeouts: 1, started: 2 });
    expect(alive(pid)).toBe(false);
  });

  it('reports a crash and serves the queue with a replacement', async () => {
    const pool = makePool({ maxInstances: 1 });
    const outcomes = await Promise.all([pool.invoke(event({ crash: true })), pool.invoke(event({}))]);
    expect(outcomes[0]).toMatchObject({ kind: 'crashed', lane: 'i01' });
    expect(outcomes[1]).toMatchObject({ kind: 'ok', lane: 'i02' });
  });

  it('fails the cold-start request when the worker does not start in time', async () => {
    const pool = makePool({ startTimeoutMs: 200, env: { ...process.env, FIXTURE_INIT_MS: '2000' } });
    expect(await pool.invoke(event({}))).toMatchObject({ kind: 'start-failed', lane: 'i01' });
    expect(pool.stats().startFailures).toBe(1);
  });

  it('fails the cold-start request when init fails', async () => {
    const pool = makePool({ env: { ...process.env, FIXTURE_FAIL_INIT: '1' } });
    expect(await pool.invoke(event({}))).toMatchObject({ kind: 'start-failed', message: expect.stringContaining('fixture told to fail') });
  });

  it('leaves no process behind on close, even with a busy worker', async () => {
    const lifecycle: PoolLifecycleEvent[] = [];
    const pool = makePool({ maxInstances: 2 }, lifecycle);
    await pool.invoke(event({}));
    const busy = pool.invoke(event({ hang: true }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await pool.close();
    expect(await busy).toEqual({ kind: 'closed' });
    const pids = lifecycle.flatMap((entry) => (entry.type === 'spawn' && entry.pid !== undefined ? [entry.pid] : []));
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(await pool.invoke(event({}))).toEqual({ kind: 'closed' });
  });
});
