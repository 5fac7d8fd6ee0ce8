import { afterEach, describe, expect, it } from 'vitest';
import { FAILURE_FIELDS, LEASE_FIELDS } from '../../src/machine/record.js';
import type { RecordPatch, TokenRecord, WriteCondition, WriteIntent, WriteOutcome, WriteRequest } from '../../src/machine/record.js';
import { ProtocolViolationError, RecordInvalidError } from '../../src/runtime/errors.js';
import type { TokenStore } from '../../src/runtime/store.js';

/**
 * The one contract every {@link TokenStore} must pass. It talks to the store only through the
 * port, plus a fixture that can plant and inspect raw items, so the same suite runs unchanged
 * against the memory store, dynalite, DynamoDB Local and real DynamoDB: only `makeStore` differs.
 */

/**
 * What a fixture factory is asked for.
 *
 * @example
 * ```ts
 * const fixture = await makeStore({ partitionKey: 'tokenName' });
 * ```
 */
export interface StoreFixtureOptions {
  /**
   * Name of the partition-key attribute the store must use (stores without keys ignore it).
   * @defaultValue the store's own default
   */
  readonly partitionKey?: string;
}

/**
 * One fresh, empty item slot (a new key), plus raw access for planting foreign items.
 *
 * @example
 * ```ts
 * const { store, putRaw, cleanup } = await makeStore({});
 * await putRaw({ schemaVersion: 2, revision: 1, generation: 0 });
 * ```
 */
export interface StoreFixture {
  /** A store over an item that does not exist yet. */
  readonly store: TokenStore;
  /** A store over another key in the same table (same partition-key name), also empty. */
  storeFor(key: string): TokenStore;
  /**
   * Writes `item` as is at `store`'s key, bypassing Baton (a newer Baton or another program
   * wrote it). Plain values: strings, numbers, booleans, null, lists, maps. Only called while
   * the item does not exist.
   */
  putRaw(item: Readonly<Record<string, unknown>>): Promise<void>;
  /** The item at `store`'s key exactly as stored, without the partition-key attribute. */
  getRaw(): Promise<Record<string, unknown> | undefined>;
  /** Deletes what the fixture created (items; never tables it did not create). */
  cleanup(): Promise<void>;
}

/**
 * Builds one fixture per test.
 *
 * @example
 * ```ts
 * const makeStore: MakeStore = async () => ({ store: new MemoryTokenStore(), ... });
 * ```
 */
export type MakeStore = (options: StoreFixtureOptions) => Promise<StoreFixture>;

/**
 * Knobs for engines with other costs (real DynamoDB).
 *
 * @example
 * ```ts
 * describeStoreContract('DynamoDB (AWS)', makeAwsFixture, { concurrentWriters: 4 });
 * ```
 */
export interface StoreContractConstraints {
  /**
   * How many conflicting writes race in the concurrency tests.
   * @defaultValue {@link CONCURRENT_WRITERS_COUNT}
   */
  readonly concurrentWriters?: number;
}

/**
 * Default number of racing writers.
 *
 * @example
 * ```ts
 * describeStoreContract('x', makeStore, { concurrentWriters: CONCURRENT_WRITERS_COUNT * 2 });
 * ```
 */
export const CONCURRENT_WRITERS_COUNT = 12;

const ISSUED_AT_MS = 1_700_000_000_000;
/** Shorter planted strings could occur in any sentence, so only longer ones are checked for leaks. */
const SECRET_LIKE_LENGTH_MIN_CHARS = 8;
const LEASE_MS = 30_000;

/** A claim request as the protocol makes it (no lease, generation still `generation`). */
function claim(generation: number, leaseId: string, nowMs = ISSUED_AT_MS): WriteRequest {
  return request('claim', { exists: true, generation, leaseId: null }, leaseFields(leaseId, nowMs));
}

function leaseFields(leaseId: string, nowMs: number): RecordPatch {
  return { leaseId, leaseHolder: `holder-of-${leaseId}`, leaseAcquiredAtMs: nowMs, leaseExpiresAtMs: nowMs + LEASE_MS };
}

function request(intent: WriteIntent, condition: WriteCondition, set: RecordPatch = {}, remove: WriteRequest['remove'] = []): WriteRequest {
  return { intent, condition, set, remove };
}

const CREATE: WriteRequest = request('claim', { exists: false }, { generation: 0 });

function publish(leaseId: string, generation: number, token: string): WriteRequest {
  return request('publish', { exists: true, leaseId }, { generation, token, tokenIssuedAtMs: ISSUED_AT_MS, tokenExpiresAtMs: ISSUED_AT_MS + 3_600_000 }, [
    ...LEASE_FIELDS,
    ...FAILURE_FIELDS,
  ]);
}

function applied(outcome: WriteOutcome): TokenRecord {
  if (!outcome.applied) throw new Error(`expected the write to apply, but its condition failed; current: ${JSON.stringify(outcome.current)}`);
  return outcome.record;
}

/** Items no Baton may touch, with what the refusal must say. */
const FOREIGN_ITEMS: readonly { readonly name: string; readonly item: Record<string, unknown>; readonly message: readonly RegExp[] }[] = [
  {
    name: 'an item from a newer Baton (schemaVersion 2)',
    item: { schemaVersion: 2, revision: 5, generation: 3, token: 'tok-from-the-future', newField: 'x' },
    message: [/newer Baton/, /schema version 2/, /will not be overwritten/, /upgrade dynamo-baton/],
  },
  {
    name: 'an item of another shape (no schemaVersion)',
    item: { owner: 'billing-service', apiSecret: 'sk-live-DO-NOT-LEAK', count: 3 },
    message: [/"schemaVersion": expected the number 1, found nothing/, /unexpected attribute "apiSecret"/, /another key/, /delete the item/],
  },
  {
    name: 'a version-1 item with a string generation',
    item: { schemaVersion: 1, revision: 2, generation: 'two' },
    message: [/attribute "generation": expected a non-negative integer, found a string/, /never overwrites/],
  },
  {
    name: 'a version-1 item with a numeric token',
    item: { schemaVersion: 1, revision: 2, generation: 1, token: 424242 },
    message: [/attribute "token": expected a non-empty string, found a number/],
  },
  {
    name: 'a version-1 item without revision',
    item: { schemaVersion: 1, generation: 1 },
    message: [/attribute "revision": expected a non-negative integer, found nothing/],
  },
  {
    name: 'a version-1 item with a boolean lease id',
    item: { schemaVersion: 1, revision: 2, generation: 1, leaseId: true },
    message: [/attribute "leaseId": expected a non-empty string, found a boolean/],
  },
];

/** Writes that would succeed on a valid item shaped like the foreign ones: none may change them. */
const WRITES_AGAINST_FOREIGN_ITEMS: readonly WriteRequest[] = [
  CREATE,
  request('claim', { exists: true, leaseId: null }, leaseFields('l-intruder', ISSUED_AT_MS)),
  request('invalidate', { exists: true }, { failureCount: 1 }),
  request('release', { exists: true }, {}, [...LEASE_FIELDS]),
];

/**
 * Registers the store contract as a vitest `describe` block.
 *
 * @example
 * ```ts
 * describeStoreContract('MemoryTokenStore', async () => ({ store: new MemoryTokenStore(), ... }));
 * ```
 */
export function describeStoreContract(name: string, makeStore: MakeStore, constraints: StoreContractConstraints = {}): void {
  const writers = constraints.concurrentWriters ?? CONCURRENT_WRITERS_COUNT;

  describe(`${name} — store contract`, () => {
    const fixtures: StoreFixture[] = [];
    const fresh = async (options: StoreFixtureOptions = {}): Promise<StoreFixture> => {
      const fixture = await makeStore(options);
      fixtures.push(fixture);
      return fixture;
    };
    afterEach(async () => {
      await Promise.all(fixtures.splice(0).map((fixture) => fixture.cleanup()));
    });

    it('reads a missing item as undefined', async () => {
      const { store } = await fresh();
      expect(await store.read({ consistent: true })).toBeUndefined();
    });

    it('creates the item with a first write conditioned on exists: false', async () => {
      const { store, getRaw } = await fresh();
      const outcome = await store.write(request('claim', { exists: false }, leaseFields('l-1', ISSUED_AT_MS)));
      const expected: TokenRecord = {
        schemaVersion: 1,
        revision: 1,
        generation: 0,
        leaseId: 'l-1',
        leaseHolder: 'holder-of-l-1',
        leaseAcquiredAtMs: ISSUED_AT_MS,
        leaseExpiresAtMs: ISSUED_AT_MS + LEASE_MS,
      };
      expect(outcome).toEqual({ applied: true, record: expected });
      expect(await store.read({ consistent: true })).toEqual(expected);
      expect(await getRaw()).toEqual(expected);
    });

    it('refuses a second exists: false write and returns the current item', async () => {
      const { store } = await fresh();
      const first = applied(await store.write(CREATE));
      const second = await store.write(request('claim', { exists: false }, { generation: 9, leaseId: 'l-2' }));
      expect(second).toEqual({ applied: false, current: first });
      expect(await store.read({ consistent: true })).toEqual(first);
    });

    it('refuses an exists: true write on a missing item and reports it missing', async () => {
      const { store } = await fresh();
      expect(await store.write(claim(0, 'l-1'))).toEqual({ applied: false, current: undefined });
      expect(await store.read({ consistent: true })).toBeUndefined();
    });

    it('grants a claim only on the stated generation and only without a lease', async () => {
      const { store } = await fresh();
      applied(await store.write(CREATE));
      const stale = await store.write(claim(1, 'l-stale'));
      expect(stale).toEqual({ applied: false, current: { schemaVersion: 1, revision: 1, generation: 0 } });

      const won = applied(await store.write(claim(0, 'l-1')));
      expect(won).toEqual({ schemaVersion: 1, revision: 2, generation: 0, ...leaseFields('l-1', ISSUED_AT_MS) });

      const second = await store.write(claim(0, 'l-2'));
      expect(second).toEqual({ applied: false, current: won });
    });

    it('fences a publish by lease id: the holder publishes, anyone else gets the current item', async () => {
      const { store } = await fresh();
      applied(await store.write(CREATE));
      applied(await store.write(request('record-failure', { exists: true }, { failureCode: 'ISSUER_REFUSED', failureStatus: 401, failureCount: 1, failureAtMs: 5, backoffUntilMs: 10 })));
      const held = applied(await store.write(claim(0, 'l-mine')));

      const intruder = await store.write(publish('l-other', 1, 'token-from-intruder'));
      expect(intruder).toEqual({ applied: false, current: held });

      const published = applied(await store.write(publish('l-mine', 1, 'token-gen-1')));
      expect(published).toEqual({
        schemaVersion: 1,
        revision: 4,
        generation: 1,
        token: 'token-gen-1',
        tokenIssuedAtMs: ISSUED_AT_MS,
        tokenExpiresAtMs: ISSUED_AT_MS + 3_600_000,
      });
      // Once published, the lease is gone: a late publish under the same lease is fenced off.
      expect(await store.write(publish('l-mine', 2, 'token-late'))).toEqual({ applied: false, current: published });
    });

    it('takes over a stale lease only by naming its lease id and the revision it last saw', async () => {
      const { store } = await fresh();
      applied(await store.write(CREATE));
      const stale = applied(await store.write(claim(0, 'l-stale')));
      const takeOver = (leaseId: string): WriteRequest =>
        request('take-over', { exists: true, leaseId: 'l-stale', revision: stale.revision }, leaseFields(leaseId, ISSUED_AT_MS + LEASE_MS));

      const wrongRevision = await store.write(request('take-over', { exists: true, leaseId: 'l-stale', revision: stale.revision + 1 }, leaseFields('l-x', 0)));
      expect(wrongRevision).toEqual({ applied: false, current: stale });

      const taken = applied(await store.write(takeOver('l-new')));
      expect(taken).toEqual({ schemaVersion: 1, revision: 3, generation: 0, ...leaseFields('l-new', ISSUED_AT_MS + LEASE_MS) });
      // A second instance that saw the same stale lease loses.
      expect(await store.write(takeOver('l-late'))).toEqual({ applied: false, current: taken });
    });

    it('releases a lease held by the caller and keeps the token', async () => {
      const { store } = await fresh();
      applied(await store.write(CREATE));
      applied(await store.write(claim(0, 'l-1')));
      const published = applied(await store.write(publish('l-1', 1, 'token-gen-1')));
      applied(await store.write(claim(1, 'l-2')));

      const release = request('release', { exists: true, leaseId: 'l-2' }, {}, [...LEASE_FIELDS]);
      const released = applied(await store.write(release));
      expect(released).toEqual({ ...published, revision: published.revision + 2 });
      expect(await store.write(release)).toEqual({ applied: false, current: released });
    });

    it('increments revision by exactly 1 per applied write and never on a failed one', async () => {
      const { store } = await fresh();
      const sequence: readonly [WriteRequest, boolean][] = [
        [CREATE, true],
        [CREATE, false],
        [claim(0, 'l-1'), true],
        [claim(0, 'l-2'), false],
        [publish('l-2', 1, 'token-wrong'), false],
        [publish('l-1', 1, 'token-gen-1'), true],
        [request('invalidate', { exists: true, generation: 0 }, { failureCount: 1 }), false],
        [request('invalidate', { exists: true, generation: 1, revision: 3 }, { failureCount: 1 }), true],
        [request('invalidate', { exists: true, generation: 1, revision: 3 }, { failureCount: 2 }), false],
      ];
      let revision = 0;
      for (const [write, shouldApply] of sequence) {
        const outcome = await store.write(write);
        expect(outcome.applied, `${write.intent} ${JSON.stringify(write.condition)}`).toBe(shouldApply);
        if (outcome.applied) revision += 1;
        const seen = outcome.applied ? outcome.record : outcome.current;
        expect(seen?.revision).toBe(revision);
        expect((await store.read({ consistent: true }))?.revision).toBe(revision);
      }
      expect(revision).toBe(4);
    });

    it('removes fields, tolerates removing absent ones, and lets set win over remove', async () => {
      const { store, getRaw } = await fresh();
      applied(await store.write(request('claim', { exists: false }, { generation: 2, token: 'token-gen-2', failureCode: 'ISSUER_REFUSED', failureCount: 3 })));
      const cleared = applied(await store.write(request('publish', { exists: true }, {}, [...FAILURE_FIELDS, ...LEASE_FIELDS])));
      expect(cleared).toEqual({ schemaVersion: 1, revision: 2, generation: 2, token: 'token-gen-2' });
      expect(await getRaw()).toEqual(cleared);

      const both = applied(await store.write(request('renew', { exists: true }, { leaseId: 'l-9', tokenExpiresAtMs: 77 }, ['leaseId', 'token'])));
      expect(both).toEqual({ schemaVersion: 1, revision: 3, generation: 2, leaseId: 'l-9', tokenExpiresAtMs: 77 });
    });

    it('keeps items under different keys of one table independent', async () => {
      const { store, storeFor } = await fresh();
      const other = storeFor('independent-neighbour');
      applied(await store.write(CREATE));
      expect(await other.read({ consistent: true })).toBeUndefined();
      expect(applied(await other.write(request('claim', { exists: false }, { generation: 5, leaseId: 'l-o' })))).toEqual({
        schemaVersion: 1,
        revision: 1,
        generation: 5,
        leaseId: 'l-o',
      });
      applied(await store.write(claim(0, 'l-a')));
      expect(await store.read({ consistent: true })).toEqual({ schemaVersion: 1, revision: 2, generation: 0, ...leaseFields('l-a', ISSUED_AT_MS) });
      expect((await other.read({ consistent: true }))?.revision).toBe(1);
      expect(await other.write(claim(5, 'l-b'))).toEqual({ applied: false, current: { schemaVersion: 1, revision: 1, generation: 5, leaseId: 'l-o' } });
    });

    it('works with a custom partition-key attribute name', async () => {
      const { store, storeFor, getRaw } = await fresh({ partitionKey: 'tokenName' });
      applied(await store.write(CREATE));
      const held = applied(await store.write(claim(0, 'l-1')));
      expect(await store.read({ consistent: true })).toEqual(held);
      expect(await getRaw()).toEqual(held);
      expect(await store.write(claim(0, 'l-2'))).toEqual({ applied: false, current: held });
      expect(await storeFor('custom-neighbour').read({ consistent: true })).toBeUndefined();
    });

    it(`lets exactly one of ${writers} concurrent conflicting claims apply`, async () => {
      const { store } = await fresh();
      const base = applied(await store.write(CREATE));
      const outcomes = await Promise.all(Array.from({ length: writers }, (_, index) => store.write(claim(0, `l-${index}`))));
      const winners = outcomes.filter((outcome) => outcome.applied);
      expect(winners).toHaveLength(1);
      const winner = applied(winners[0] as WriteOutcome);
      expect(winner.revision).toBe(base.revision + 1);
      for (const outcome of outcomes) {
        if (!outcome.applied) expect(outcome.current?.leaseId).toBe(winner.leaseId);
      }
      expect(await store.read({ consistent: true })).toEqual(winner);
    });

    it(`lets exactly one of ${writers} concurrent creations apply`, async () => {
      const { store } = await fresh();
      const outcomes = await Promise.all(
        Array.from({ length: writers }, (_, index) => store.write(request('claim', { exists: false }, { generation: 0, leaseId: `l-${index}` }))),
      );
      expect(outcomes.filter((outcome) => outcome.applied)).toHaveLength(1);
      const stored = await store.read({ consistent: true });
      expect(stored?.revision).toBe(1);
      for (const outcome of outcomes) expect(outcome.applied ? outcome.record : outcome.current).toEqual(stored);
    });

    it('rejects requests that would store an unreadable item, before touching the store', async () => {
      const { store } = await fresh();
      applied(await store.write(CREATE));
      const bad: WriteRequest[] = [
        request('release', { exists: true }, {}, ['generation']),
        request('publish', { exists: true }, { token: '' }),
        request('renew', { exists: true }, { leaseExpiresAtMs: 1.5 }),
        request('renew', { exists: true }, { generation: -1 }),
        request('renew', { exists: true }, { revision: 7 } as unknown as RecordPatch),
        request('renew', { exists: true }, { surprise: 'x' } as unknown as RecordPatch),
        request('release', { exists: true }, {}, ['schemaVersion' as never]),
      ];
      for (const write of bad) await expect(store.write(write), JSON.stringify(write)).rejects.toBeInstanceOf(ProtocolViolationError);
      expect(await store.read({ consistent: true })).toEqual({ schemaVersion: 1, revision: 1, generation: 0 });
    });

    describe('never touches an item it cannot read', () => {
      for (const foreign of FOREIGN_ITEMS) {
        it(`refuses ${foreign.name}`, async () => {
          const { store, putRaw, getRaw } = await fresh();
          await putRaw(foreign.item);

          const readError = await store.read({ consistent: true }).then(
            () => undefined,
            (error: unknown) => error,
          );
          expect(readError).toBeInstanceOf(RecordInvalidError);
          const message = (readError as Error).message;
          for (const pattern of foreign.message) expect(message).toMatch(pattern);
          expect(message).toContain(store.describe());
          // Values of a foreign item may be secrets: messages name attributes and types only.
          for (const value of Object.values(foreign.item)) {
            if (typeof value === 'string' && value.length >= SECRET_LIKE_LENGTH_MIN_CHARS) expect(message).not.toContain(value);
          }

          for (const write of WRITES_AGAINST_FOREIGN_ITEMS) {
            await expect(store.write(write), write.intent).rejects.toBeInstanceOf(RecordInvalidError);
          }
          expect(await getRaw()).toEqual(foreign.item);
        });
      }
    });
  });
}
