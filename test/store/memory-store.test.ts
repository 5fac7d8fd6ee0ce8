import { describe, expect, it } from 'vitest';
import type { WriteRequest } from '../../src/machine/record.js';
import { InvalidOptionsError, RecordInvalidError, StoreUnavailableError } from '../../src/runtime/errors.js';
import { MEMORY_HISTORY_LIMIT_ENTRIES, MemoryTokenStore } from '../../src/runtime/memory-store.js';
import type { MemoryStoreOperation } from '../../src/runtime/memory-store.js';
import { describeStoreContract } from './contract.js';
import type { StoreFixture } from './contract.js';

describeStoreContract('MemoryTokenStore', async (): Promise<StoreFixture> => {
  // A "table" of independent single-item stores, one per key.
  const table = new Map<string, MemoryTokenStore>();
  const storeFor = (key: string): MemoryTokenStore => {
    const existing = table.get(key);
    if (existing !== undefined) return existing;
    const created = new MemoryTokenStore();
    table.set(key, created);
    return created;
  };
  const store = storeFor('main');
  return {
    store,
    storeFor,
    putRaw: async (item) => store.seedRaw(item),
    getRaw: async () => (store.raw() === undefined ? undefined : { ...store.raw() }),
    cleanup: async () => table.clear(),
  };
});

const CREATE: WriteRequest = { intent: 'claim', condition: { exists: false }, set: { generation: 0 }, remove: [] };

function claim(generation: number, leaseId: string): WriteRequest {
  return { intent: 'claim', condition: { exists: true, generation, leaseId: null }, set: { leaseId }, remove: [] };
}

describe('MemoryTokenStore specifics', () => {
  it('takes effect at call time, before the returned promise is awaited', async () => {
    const store = new MemoryTokenStore();
    const pending = store.write(CREATE);
    expect(store.snapshot()).toEqual({ schemaVersion: 1, revision: 1, generation: 0 });
    const first = store.write(claim(0, 'l-first'));
    const second = store.write(claim(0, 'l-second'));
    expect((await first).applied).toBe(true);
    expect(await second).toEqual({ applied: false, current: { schemaVersion: 1, revision: 2, generation: 0, leaseId: 'l-first' } });
    expect((await pending).applied).toBe(true);
  });

  it('answers an eventually consistent read with the item as it stood one write earlier', async () => {
    const store = new MemoryTokenStore();
    await store.write(CREATE);
    expect(await store.read({ consistent: false })).toBeUndefined();
    await store.write(claim(0, 'l-1'));
    expect(await store.read({ consistent: false })).toEqual({ schemaVersion: 1, revision: 1, generation: 0 });
    await store.write(claim(0, 'l-2')); // fails: a failed write does not advance the lagging view
    expect(await store.read({ consistent: false })).toEqual({ schemaVersion: 1, revision: 1, generation: 0 });
    expect(await store.read({ consistent: true })).toEqual({ schemaVersion: 1, revision: 2, generation: 0, leaseId: 'l-1' });
  });

  it('records every applied write, and only those, in history', async () => {
    const store = new MemoryTokenStore();
    await store.write(CREATE);
    await store.write(CREATE);
    await store.write(claim(0, 'l-1'));
    expect(store.history()).toEqual([
      { seq: 1, request: CREATE, before: undefined, after: { schemaVersion: 1, revision: 1, generation: 0 } },
      {
        seq: 2,
        request: claim(0, 'l-1'),
        before: { schemaVersion: 1, revision: 1, generation: 0 },
        after: { schemaVersion: 1, revision: 2, generation: 0, leaseId: 'l-1' },
      },
    ]);
    expect(store.historyDropped).toBe(0);
  });

  it('bounds history and counts what it dropped', async () => {
    const store = new MemoryTokenStore({ historyLimitEntries: 3 });
    await store.write(CREATE);
    for (let index = 0; index < 4; index += 1) {
      await store.write({ intent: 'renew', condition: { exists: true }, set: { failureCount: index }, remove: [] });
    }
    expect(store.history().map((entry) => entry.seq)).toEqual([3, 4, 5]);
    expect(store.historyDropped).toBe(2);
    expect(MEMORY_HISTORY_LIMIT_ENTRIES).toBe(10_000);
  });

  it('hands out frozen records and keeps its own copy of requests', async () => {
    const store = new MemoryTokenStore();
    const request = { intent: 'claim', condition: { exists: false }, set: { generation: 0, leaseId: 'l-1' }, remove: [] as string[] };
    const outcome = await store.write(request as WriteRequest);
    if (!outcome.applied) throw new Error('expected the create to apply');
    expect(() => ((outcome.record as { generation: number }).generation = 9)).toThrow(TypeError);
    const read = await store.read({ consistent: true });
    expect(() => ((read as { token?: string }).token = 'mutated')).toThrow(TypeError);
    expect(() => ((store.snapshot() as { revision: number }).revision = 0)).toThrow(TypeError);
    request.set.leaseId = 'l-rewritten';
    request.remove.push('token');
    expect(store.history()[0]?.request).toEqual({ intent: 'claim', condition: { exists: false }, set: { generation: 0, leaseId: 'l-1' }, remove: [] });
    expect(store.snapshot()).toEqual({ schemaVersion: 1, revision: 1, generation: 0, leaseId: 'l-1' });
  });

  it('seeds a valid record, refuses to seed an invalid one, and clears with undefined', async () => {
    const store = new MemoryTokenStore();
    store.seed({ schemaVersion: 1, revision: 7, generation: 3, token: 'tok-3', tokenIssuedAtMs: 0 });
    expect(await store.read({ consistent: false })).toEqual({ schemaVersion: 1, revision: 7, generation: 3, token: 'tok-3', tokenIssuedAtMs: 0 });
    expect(store.history()).toEqual([]);
    expect(() => store.seed({ schemaVersion: 1, revision: 1, generation: 0, token: '' })).toThrow(RecordInvalidError);
    expect(store.snapshot()?.revision).toBe(7);
    store.seed(undefined);
    expect(store.snapshot()).toBeUndefined();
  });

  it('lets a beforeOperation hook fail an operation without effect', async () => {
    const seen: [MemoryStoreOperation, string | undefined][] = [];
    const store = new MemoryTokenStore({
      beforeOperation: (operation, request) => {
        seen.push([operation, request?.intent]);
        if (request?.intent === 'claim' && request.condition.exists) throw new StoreUnavailableError('injected: request lost');
      },
    });
    await store.write(CREATE);
    await expect(store.write(claim(0, 'l-1'))).rejects.toThrow('injected: request lost');
    expect(await store.read({ consistent: true })).toEqual({ schemaVersion: 1, revision: 1, generation: 0 });
    expect(seen).toEqual([
      ['write', 'claim'],
      ['write', 'claim'],
      ['read', undefined],
    ]);
  });

  it('moves the linearization point after an async beforeOperation hook', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let delayed = true;
    const store = new MemoryTokenStore({
      // Only the first operation gets a promise; the others stay synchronous, linearized at call time.
      beforeOperation: () => {
        if (!delayed) return undefined;
        delayed = false;
        return gate;
      },
    });
    store.seed({ schemaVersion: 1, revision: 1, generation: 0 });
    const slow = store.write(claim(0, 'l-slow'));
    const fast = store.write(claim(0, 'l-fast'));
    expect(store.snapshot()?.leaseId).toBe('l-fast');
    release();
    expect(await slow).toEqual({ applied: false, current: { schemaVersion: 1, revision: 2, generation: 0, leaseId: 'l-fast' } });
    expect((await fast).applied).toBe(true);
  });

  it('lets an afterOperation hook lose the response of an applied write (the ambiguous case)', async () => {
    const store = new MemoryTokenStore({
      afterOperation: (operation) => {
        if (operation === 'write') throw new StoreUnavailableError('injected: response lost');
      },
    });
    await expect(store.write(CREATE)).rejects.toThrow('injected: response lost');
    expect(store.snapshot()).toEqual({ schemaVersion: 1, revision: 1, generation: 0 });
    expect(store.history()).toHaveLength(1);
  });

  it('validates its options', () => {
    for (const historyLimitEntries of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryTokenStore({ historyLimitEntries })).toThrow(InvalidOptionsError);
    }
    try {
      new MemoryTokenStore({ beforeOperation: 'nope' as never });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).option).toBe('beforeOperation');
    }
    expect(new MemoryTokenStore().describe()).toBe('memory store');
  });
});
