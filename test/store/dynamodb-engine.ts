import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteItemCommand, DescribeTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_FIELDS, RECORD_FIELDS, STRING_FIELDS } from '../../src/machine/record.js';
import type { RecordField, RecordPatch, TokenRecord, WriteCondition, WriteOutcome, WriteRequest } from '../../src/machine/record.js';
import { RecordInvalidError, StoreMisconfiguredError, StoreUnavailableError } from '../../src/runtime/errors.js';
import { DynamoDBTokenStore } from '../../src/runtime/dynamodb-store.js';
import { MemoryTokenStore } from '../../src/runtime/memory-store.js';
import { fromAttributeMap } from '../../src/runtime/record-codec.js';
import { createTokenTable } from '../../src/runtime/table.js';
import type { MakeStore, StoreFixture } from './contract.js';

/** Polls of a raw test table's status before giving up, and the pause between them. */
const RAW_TABLE_ACTIVE_POLLS_MAX = 200;
const RAW_TABLE_POLL_INTERVAL_MS = 50;

/**
 * What the DynamoDB engines (dynalite, DynamoDB Local, real DynamoDB) share in the store tests:
 * a harness that starts or connects to an engine and hands out clients, tables and contract
 * fixtures, and the engine checks that run unchanged on each. Only the engine's traits differ.
 */

/** Table polls are instant on local engines; keep table creation in tests fast. */
export const LOCAL_TABLE_POLL_INTERVAL_MS = 10;
const CONTRACT_TABLE_PREFIX = 'baton-contract';
/** Seeded runs of the differential test (each up to {@link DIFFERENTIAL_WRITES_MAX} writes). */
export const DIFFERENTIAL_RUNS_COUNT = 60;
const DIFFERENTIAL_WRITES_MAX = 25;

/**
 * How to reach an engine once it runs.
 *
 * @example
 * ```ts
 * const connection: EngineConnection = { clientConfig: { endpoint, region: 'us-east-1', credentials }, stop: () => server.stop() };
 * ```
 */
export interface EngineConnection {
  /** Endpoint, region and credentials of every client the tests make (no endpoint: AWS itself). */
  readonly clientConfig: DynamoDBClientConfig & { readonly region: string; readonly endpoint?: string };
  /** Stops what `start` started; called once after the file's tests. */
  readonly stop?: () => Promise<void>;
}

/**
 * One engine under test.
 *
 * @example
 * ```ts
 * const engine = useDynamoDBEngine({ name: 'dynalite', returnsOldItemOnConditionFailure: false, start: startDynalite });
 * ```
 */
export interface DynamoDBEngineOptions {
  /** Shown in test names, e.g. `DynamoDB Local`. */
  readonly name: string;
  /** Starts (or connects to) the engine, in `beforeAll`. */
  readonly start: () => Promise<EngineConnection>;
  /** Whether a failed condition returns the item as it stood (`ReturnValuesOnConditionCheckFailure: ALL_OLD`). */
  readonly returnsOldItemOnConditionFailure: boolean;
  /**
   * The table with string partition key `partitionKey`.
   * @defaultValue `baton-contract-<partitionKey>`, made with `createTokenTable` on first use
   */
  readonly tableFor?: (client: DynamoDBClient, partitionKey: string) => Promise<string>;
  /**
   * A throwaway engine, where the checks may create tables of their own and ask for missing
   * ones. Not a real AWS account (where credentials may be scoped to the given tables).
   * @defaultValue `true`
   */
  readonly sandbox?: boolean;
  /**
   * Runs of the differential test.
   * @defaultValue {@link DIFFERENTIAL_RUNS_COUNT}
   */
  readonly differentialRuns?: number;
  /**
   * Names of table checks known to fail on this engine because the store does not yet hide a
   * difference of the engine. They run as `it.fails`, so a fix shows up as a failure: then remove
   * the name.
   */
  readonly knownStoreGaps?: readonly string[];
  /**
   * Time `start` may take.
   * @defaultValue vitest's `hookTimeout`
   */
  readonly startTimeoutMs?: number;
}

/**
 * A started engine: clients, tables, fixtures. Usable inside tests and hooks only (it starts in `beforeAll`).
 *
 * @example
 * ```ts
 * const tableName = await engine.tableFor('pk');
 * const store = new DynamoDBTokenStore({ client: engine.client, tableName, key: 'k' });
 * ```
 */
export class DynamoDBEngine {
  readonly options: DynamoDBEngineOptions;
  #connection: EngineConnection | undefined;
  #client: DynamoDBClient | undefined;
  readonly #clients: DynamoDBClient[] = [];
  readonly #tables = new Map<string, Promise<string>>();
  /** Items made by the engine checks, deleted after each test. */
  readonly #trackedItems: { tableName: string; partitionKey: string; key: string }[] = [];

  constructor(options: DynamoDBEngineOptions) {
    this.options = options;
  }

  get name(): string {
    return this.options.name;
  }

  /** The configured endpoint, or `undefined` for AWS itself. */
  get endpoint(): string | undefined {
    return this.#started().clientConfig.endpoint;
  }

  get region(): string {
    return this.#started().clientConfig.region;
  }

  /** The shared client. */
  get client(): DynamoDBClient {
    this.#client ??= this.makeClient();
    return this.#client;
  }

  /** A new client (destroyed after the file), e.g. to add middleware to. */
  makeClient(config: Partial<DynamoDBClientConfig> = {}): DynamoDBClient {
    const made = new DynamoDBClient({ ...this.#started().clientConfig, ...config });
    this.#clients.push(made);
    return made;
  }

  tableFor(partitionKey: string): Promise<string> {
    let table = this.#tables.get(partitionKey);
    if (table === undefined) {
      table = this.options.tableFor?.(this.client, partitionKey) ?? createContractTable(this.client, partitionKey);
      this.#tables.set(partitionKey, table);
    }
    return table;
  }

  /** A fresh key in the table for `partitionKey`; its item is deleted after the current test (see {@link useDynamoDBEngine}). */
  async trackedKey(label: string, partitionKey = 'pk'): Promise<{ tableName: string; key: string }> {
    const tableName = await this.tableFor(partitionKey);
    const key = `baton-test-${label}-${randomUUID()}`;
    this.#trackedItems.push({ tableName, partitionKey, key });
    return { tableName, key };
  }

  /** Contract fixtures: fresh keys in the shared tables, deleted by the contract after each test. */
  readonly makeFixture: MakeStore = async (options) => {
    const partitionKey = options.partitionKey ?? 'pk';
    return makeDynamoDBFixture({ client: this.client, tableName: await this.tableFor(partitionKey), partitionKey });
  };

  /** A table made with the raw client, for key-schema mismatches. */
  async createRawTable(tableName: string, keys: readonly { name: string; type: 'S' | 'N'; role: 'HASH' | 'RANGE' }[]): Promise<void> {
    await this.client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: keys.map((key) => ({ AttributeName: key.name, AttributeType: key.type })),
        KeySchema: keys.map((key) => ({ AttributeName: key.name, KeyType: key.role })),
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // Engines create tables asynchronously (dynalite: CREATING for a while, slower under load);
    // until ACTIVE, item calls answer "not found", which is not what the tests are about.
    for (let poll = 0; poll < RAW_TABLE_ACTIVE_POLLS_MAX; poll += 1) {
      const { Table } = await this.client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, RAW_TABLE_POLL_INTERVAL_MS));
    }
    throw new Error(`table ${tableName} did not become ACTIVE within ${RAW_TABLE_ACTIVE_POLLS_MAX * RAW_TABLE_POLL_INTERVAL_MS} ms`);
  }

  async deleteTrackedItems(): Promise<void> {
    const items = this.#trackedItems.splice(0);
    await Promise.all(
      items.map(({ tableName, partitionKey, key }) => this.client.send(new DeleteItemCommand({ TableName: tableName, Key: { [partitionKey]: { S: key } } }))),
    );
  }

  async start(): Promise<void> {
    this.#connection = await this.options.start();
  }

  async stop(): Promise<void> {
    for (const made of this.#clients.splice(0)) made.destroy();
    this.#client = undefined;
    await this.#connection?.stop?.();
  }

  #started(): EngineConnection {
    if (this.#connection === undefined) throw new Error(`${this.name} is used before it started: use the engine inside tests and hooks only`);
    return this.#connection;
  }
}

/**
 * Registers hooks for the whole file: `beforeAll` starts the engine, `afterEach` deletes the
 * items of {@link DynamoDBEngine.trackedKey}, `afterAll` stops the engine. Returns the engine.
 *
 * @example
 * ```ts
 * const engine = useDynamoDBEngine({ name: 'dynalite', returnsOldItemOnConditionFailure: false, start: startDynalite });
 * describeStoreContract('DynamoDBTokenStore on dynalite', engine.makeFixture);
 * ```
 */
export function useDynamoDBEngine(options: DynamoDBEngineOptions): DynamoDBEngine {
  const engine = new DynamoDBEngine(options);
  beforeAll(() => engine.start(), options.startTimeoutMs);
  afterEach(() => engine.deleteTrackedItems());
  afterAll(() => engine.stop());
  return engine;
}

function createContractTable(client: DynamoDBClient, partitionKey: string): Promise<string> {
  const tableName = `${CONTRACT_TABLE_PREFIX}-${partitionKey}`;
  return createTokenTable({ client, tableName, partitionKey, activePollIntervalMs: LOCAL_TABLE_POLL_INTERVAL_MS }).then(() => tableName);
}

/**
 * A contract fixture over fresh keys of an existing table. `cleanup` deletes exactly the items
 * of the keys it handed out, never the table.
 *
 * @example
 * ```ts
 * const fixture = makeDynamoDBFixture({ client, tableName: 'baton-contract-pk', partitionKey: 'pk' });
 * ```
 */
export function makeDynamoDBFixture(options: { readonly client: DynamoDBClient; readonly tableName: string; readonly partitionKey: string }): StoreFixture {
  const { client, tableName, partitionKey } = options;
  const run = `baton-test-${randomUUID()}`;
  const keys = new Set<string>();
  const storeFor = (key: string): DynamoDBTokenStore => {
    const scoped = `${run}-${key}`;
    keys.add(scoped);
    return new DynamoDBTokenStore({ client, tableName, key: scoped, partitionKey });
  };
  const mainKey = `${run}-main`;
  const store = storeFor('main');
  return {
    store,
    storeFor,
    putRaw: async (item) => {
      const attributes = Object.fromEntries(Object.entries(item).map(([name, value]) => [name, marshal(value)]));
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { ...attributes, [partitionKey]: { S: mainKey } },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': partitionKey },
        }),
      );
    },
    getRaw: async () => {
      const output = await client.send(new GetItemCommand({ TableName: tableName, Key: { [partitionKey]: { S: mainKey } }, ConsistentRead: true }));
      if (output.Item === undefined) return undefined;
      const { [partitionKey]: _key, ...rest } = fromAttributeMap(output.Item);
      return rest;
    },
    cleanup: async () => {
      await Promise.all([...keys].map((key) => client.send(new DeleteItemCommand({ TableName: tableName, Key: { [partitionKey]: { S: key } } }))));
    },
  };
}

/**
 * Plain JS value to DynamoDB attribute value, for planting raw items.
 *
 * @example
 * ```ts
 * marshal({ a: [1, 'x'] }); // { M: { a: { L: [{ N: '1' }, { S: 'x' }] } } }
 * ```
 */
export function marshal(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(marshal) };
  if (typeof value === 'object') return { M: Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, marshal(inner)])) };
  throw new Error(`cannot marshal ${typeof value}`);
}

/**
 * The error a promise rejects with; fails if it resolves.
 *
 * @example
 * ```ts
 * expect((await rejection(store.read({ consistent: true }))).message).toContain('not found');
 * ```
 */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}

/** The first write of an item. */
export const CREATE: WriteRequest = { intent: 'claim', condition: { exists: false }, set: { generation: 0 }, remove: [] };

function claim(generation: number, leaseId: string): WriteRequest {
  return { intent: 'claim', condition: { exists: true, generation, leaseId: null }, set: { leaseId }, remove: [] };
}

function applied(outcome: WriteOutcome): TokenRecord {
  if (!outcome.applied) throw new Error(`expected the write to apply; current: ${JSON.stringify(outcome.current)}`);
  return outcome.record;
}

/** Records every command a client sends, with its input. */
function spyOn(client: DynamoDBClient): { command: string; input: Record<string, unknown> }[] {
  const sent: { command: string; input: Record<string, unknown> }[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: context.commandName ?? '?', input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'spy' },
  );
  return sent;
}

/**
 * Makes the next command named `commandName` fail as a lost network exchange would: before it
 * reaches the engine (`'request'`) or after the engine applied it (`'response'`).
 */
function loseNext(client: DynamoDBClient, commandName: string): { arm(what: 'request' | 'response'): void } {
  let armed: 'request' | 'response' | undefined;
  const lost = (): Error => Object.assign(new Error('injected: connection reset'), { name: 'Error', code: 'ECONNRESET' });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== commandName || armed === undefined) return next(args);
      const what = armed;
      armed = undefined;
      if (what === 'request') throw lost();
      await next(args);
      throw lost();
    },
    { step: 'initialize', name: 'loseNext' },
  );
  return { arm: (what) => (armed = what) };
}

/** Malformed items written raw; `untouched: false` marks values a condition cannot see (see below). */
const MALFORMED_CASES: readonly { label: string; override: Record<string, AttributeValue>; message: RegExp; untouched: boolean }[] = [
  { label: 'a string set as token', override: { token: { SS: ['a', 'b'] } }, message: /"token": expected a non-empty string, found a set/, untouched: true },
  { label: 'a map as lease holder', override: { leaseHolder: { M: { name: { S: 'x' } } } }, message: /"leaseHolder": expected a non-empty string, found a map/, untouched: true },
  { label: 'a null failure count', override: { failureCount: { NULL: true } }, message: /"failureCount": expected a non-negative integer, found null/, untouched: true },
  { label: 'a string schema version', override: { schemaVersion: { S: '1' } }, message: /"schemaVersion": expected the number 1, found a string/, untouched: true },
  { label: 'a binary generation', override: { generation: { B: new Uint8Array([1]) } }, message: /"generation": expected a non-negative integer, found binary data/, untouched: true },
  {
    label: 'a revision too large for a safe integer',
    override: { revision: { N: '123456789012345678901234567890' } },
    message: /"revision": expected a non-negative integer, found an integer too large/,
    untouched: false,
  },
  { label: 'a fractional generation', override: { generation: { N: '1.5' } }, message: /"generation": expected a non-negative integer, found a number that is not an integer/, untouched: false },
  { label: 'a negative generation', override: { generation: { N: '-1' } }, message: /"generation": expected a non-negative integer, found a negative number/, untouched: false },
];

/**
 * Registers the engine checks: what the store sends and how it reads the engine's answers
 * (old item or read-back), ambiguous writes, malformed items, a differential run against
 * `MemoryTokenStore`, and (on a sandbox engine) table errors and `createTokenTable`.
 *
 * @example
 * ```ts
 * describeDynamoDBEngineChecks(engine);
 * ```
 */
export function describeDynamoDBEngineChecks(engine: DynamoDBEngine): void {
  const sandbox = engine.options.sandbox ?? true;
  const differentialRuns = engine.options.differentialRuns ?? DIFFERENTIAL_RUNS_COUNT;
  const oldItem = engine.options.returnsOldItemOnConditionFailure;
  const sandboxOnly = (name: string, body: () => Promise<void>): void => {
    if (!sandbox) it.skip(name, body);
    else if (engine.options.knownStoreGaps?.includes(name) === true) it.fails(`${name} [known store gap on ${engine.name}]`, body);
    else it(name, body);
  };

  describe(`DynamoDBTokenStore on ${engine.name} — engine checks`, () => {
    it(`${oldItem ? 'gets' : 'does not get'} the old item with a failed condition from the engine (raw UpdateItem)`, async () => {
      const { tableName, key } = await engine.trackedKey('raw-old-item');
      const item = { pk: { S: key }, schemaVersion: { N: '1' }, revision: { N: '1' }, generation: { N: '0' } };
      await engine.client.send(new PutItemCommand({ TableName: tableName, Item: item }));
      const error = await rejection(
        engine.client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: { S: key } },
            UpdateExpression: 'SET #generation = :one',
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#generation': 'generation', '#pk': 'pk' },
            ExpressionAttributeValues: { ':one': { N: '1' } },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      expect(error.name).toBe('ConditionalCheckFailedException');
      expect((error as { Item?: unknown }).Item).toEqual(oldItem ? item : undefined);
    });

    it(`sends consistent reads and one conditional UpdateItem per write, and ${oldItem ? 'no' : 'a consistent'} read-back after a failed condition`, async () => {
      const { tableName, key } = await engine.trackedKey('spy');
      const spy = engine.makeClient();
      const sent = spyOn(spy);
      const store = new DynamoDBTokenStore({ client: spy, tableName, key });
      await store.read({ consistent: false });
      const created = applied(await store.write(CREATE));
      expect(await store.write(CREATE)).toEqual({ applied: false, current: created });
      const readBack = oldItem ? [] : [['GetItemCommand', true]];
      expect(sent.map(({ command, input }) => [command, input['ConsistentRead'] ?? input['ConditionExpression']])).toEqual([
        ['GetItemCommand', false],
        ['UpdateItemCommand', 'attribute_not_exists(#pk)'],
        ['UpdateItemCommand', 'attribute_not_exists(#pk)'],
        ...readBack,
      ]);
      const update = sent[1]?.input ?? {};
      expect(update['ReturnValues']).toBe('ALL_NEW');
      expect(update['ReturnValuesOnConditionCheckFailure']).toBe('ALL_OLD');
      expect(update['UpdateExpression']).toBe(
        'SET #generation = :set_generation, #revision = if_not_exists(#revision, :zero) + :one, #schemaVersion = :schemaVersion',
      );

      sent.length = 0;
      await store.write({ intent: 'claim', condition: { exists: true, generation: 0, revision: 1, leaseId: null }, set: { leaseId: 'l-1' }, remove: ['failureCode'] });
      const condition = String(sent[0]?.input['ConditionExpression']);
      expect(condition.startsWith('attribute_exists(#pk) AND #schemaVersion = :schemaVersion AND attribute_type(#revision, :type_N)')).toBe(true);
      expect(condition.endsWith('#generation = :cond_generation AND #revision = :cond_revision AND attribute_not_exists(#leaseId)')).toBe(true);
      expect(sent[0]?.input['UpdateExpression']).toBe(
        'SET #leaseId = :set_leaseId, #generation = if_not_exists(#generation, :zero), #revision = if_not_exists(#revision, :zero) + :one, ' +
          '#schemaVersion = :schemaVersion REMOVE #failureCode',
      );
    });

    it(`refuses an item of a newer schema after a failed condition, ${oldItem ? 'from the old item alone' : 'after reading it back'}`, async () => {
      const { tableName, key } = await engine.trackedKey('newer');
      await engine.client.send(
        new PutItemCommand({ TableName: tableName, Item: { pk: { S: key }, schemaVersion: { N: '2' }, revision: { N: '1' }, generation: { N: '0' } } }),
      );
      const spy = engine.makeClient();
      const sent = spyOn(spy);
      const store = new DynamoDBTokenStore({ client: spy, tableName, key });
      for (const write of [CREATE, claim(0, 'l-1')]) {
        sent.length = 0;
        const error = await rejection(store.write(write));
        expect(error).toBeInstanceOf(RecordInvalidError);
        expect(error.message).toMatch(/newer Baton/);
        expect(sent.map(({ command }) => command)).toEqual(oldItem ? ['UpdateItemCommand'] : ['UpdateItemCommand', 'GetItemCommand']);
      }
    });

    it('reads back the truth after an ambiguous write: a lost response was applied, a lost request was not', async () => {
      const { tableName, key } = await engine.trackedKey('ambiguous');
      const lossy = engine.makeClient();
      const network = loseNext(lossy, 'UpdateItemCommand');
      const store = new DynamoDBTokenStore({ client: lossy, tableName, key });
      const created = applied(await store.write(CREATE));

      network.arm('response');
      const lostResponse = await rejection(store.write(claim(0, 'l-mine')));
      expect(lostResponse).toBeInstanceOf(StoreUnavailableError);
      expect(lostResponse.message).toContain('may or may not have been applied');
      const claimed = await store.read({ consistent: true });
      expect(claimed).toEqual({ ...created, revision: 2, leaseId: 'l-mine' });
      // Retrying the claim now fails its condition and shows the caller its own lease.
      expect(await store.write(claim(0, 'l-mine'))).toEqual({ applied: false, current: claimed });

      network.arm('request');
      const release: WriteRequest = { intent: 'release', condition: { exists: true, leaseId: 'l-mine' }, set: {}, remove: [...LEASE_FIELDS] };
      expect(await rejection(store.write(release))).toBeInstanceOf(StoreUnavailableError);
      expect(await store.read({ consistent: true })).toEqual(claimed);
      expect(applied(await store.write(release))).toEqual({ ...created, revision: 3 });
    });

    describe('refuses malformed items written raw through the client', () => {
      // `untouched: false` marks values of the right DynamoDB type but out of range: the condition
      // cannot see those, so a write whose own condition holds is applied and *then* refused when
      // its result is decoded (RecordInvalidError). Every other case is guaranteed untouched.
      for (const { label, override, message, untouched } of MALFORMED_CASES) {
        it(`refuses ${label}`, async () => {
          const { tableName, key } = await engine.trackedKey('malformed');
          const item = { pk: { S: key }, schemaVersion: { N: '1' }, revision: { N: '3' }, generation: { N: '1' }, ...override };
          await engine.client.send(new PutItemCommand({ TableName: tableName, Item: item }));
          const store = new DynamoDBTokenStore({ client: engine.client, tableName, key });
          const error = await rejection(store.read({ consistent: true }));
          expect(error).toBeInstanceOf(RecordInvalidError);
          expect(error.message).toMatch(message);
          const writes: WriteRequest[] = [
            CREATE,
            { intent: 'claim', condition: { exists: true, leaseId: null }, set: { leaseId: 'l-1' }, remove: [] },
            { intent: 'invalidate', condition: { exists: true }, set: { failureCount: 1 }, remove: [] },
          ];
          for (const write of writes) await expect(store.write(write)).rejects.toBeInstanceOf(RecordInvalidError);
          const stored = await engine.client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
          if (untouched) expect(stored.Item).toEqual(item);
          else expect(stored.Item).not.toEqual(item);
        });
      }
    });

    it('behaves exactly like MemoryTokenStore on random write sequences (differential, seeded)', async () => {
      const seed = Number(process.env['BATON_SEED'] ?? Date.now() % 2_147_483_647);
      console.log(`differential store test on ${engine.name}, seed: ${seed} (replay with BATON_SEED=${seed})`);
      await fc.assert(
        fc.asyncProperty(fc.array(writeRequestArbitrary(), { minLength: 1, maxLength: DIFFERENTIAL_WRITES_MAX }), async (requests) => {
          const { tableName, key } = await engine.trackedKey('differential');
          const memory = new MemoryTokenStore();
          const dynamo = new DynamoDBTokenStore({ client: engine.client, tableName, key });
          for (const request of requests) {
            expect(await dynamo.write(request)).toEqual(await memory.write(request));
          }
          expect(await dynamo.read({ consistent: true })).toEqual(await memory.read({ consistent: true }));
        }),
        { seed, numRuns: differentialRuns },
      );
    });

    sandboxOnly('reports a missing table as misconfiguration, naming the table and the command that creates it', async () => {
      const store = new DynamoDBTokenStore({ client: engine.client, tableName: 'baton-missing', key: 'chat', partitionKey: 'tokenName' });
      const where = engine.endpoint === undefined ? `region ${engine.region}` : `endpoint ${engine.endpoint}`;
      const flags = `${engine.endpoint === undefined ? '' : `--endpoint-url ${engine.endpoint} `}--region ${engine.region}`;
      const command =
        'aws dynamodb create-table --table-name baton-missing --attribute-definitions AttributeName=tokenName,AttributeType=S ' +
        `--key-schema AttributeName=tokenName,KeyType=HASH --billing-mode PAY_PER_REQUEST ${flags}`;
      // One at a time: a second call started early would reject unobserved while the first is awaited.
      for (const call of [() => store.read({ consistent: true }), () => store.write(CREATE)]) {
        const error = await rejection(call());
        expect(error).toBeInstanceOf(StoreMisconfiguredError);
        expect(error.message).toContain(`DynamoDB table "baton-missing" was not found at ${where}`);
        expect(error.message).toContain(command);
        expect(error.message).toContain('createTokenTable({ client, tableName: "baton-missing", partitionKey: "tokenName" })');
        expect((error as StoreMisconfiguredError).retryable).toBe(false);
      }
    });

    sandboxOnly('reports a table whose key schema does not match partitionKey', async () => {
      await engine.createRawTable('baton-keyed-by-id', [{ name: 'id', type: 'S', role: 'HASH' }]);
      const store = new DynamoDBTokenStore({ client: engine.client, tableName: 'baton-keyed-by-id', key: 'chat' });
      // One at a time: a second call started early would reject unobserved while the first is awaited.
      for (const call of [() => store.read({ consistent: true }), () => store.write(CREATE)]) {
        const error = await rejection(call());
        expect(error).toBeInstanceOf(StoreMisconfiguredError);
        expect(error.message).toMatch(/does not have the key schema Baton expects: a string partition key named "pk" and no sort key/);
      }
    });

    sandboxOnly('creates the table idempotently and refuses an existing table with another key schema', async () => {
      const { client } = engine;
      const options = { client, tableName: 'baton-idempotent', partitionKey: 'tokenName', activePollIntervalMs: LOCAL_TABLE_POLL_INTERVAL_MS };
      const first = await createTokenTable(options);
      const second = await createTokenTable(options);
      expect(first).toEqual({ created: true, tableName: 'baton-idempotent', partitionKey: 'tokenName' });
      expect(second).toEqual({ created: false, tableName: 'baton-idempotent', partitionKey: 'tokenName' });
      const store = new DynamoDBTokenStore({ client, tableName: 'baton-idempotent', key: 'chat', partitionKey: 'tokenName' });
      expect((await store.write(CREATE)).applied).toBe(true);

      await expect(createTokenTable({ client, tableName: 'baton-idempotent' })).rejects.toThrow(
        'already exists with key schema [HASH "tokenName" (S)], but Baton needs a single string partition key named "pk" and no sort key: pass partitionKey: "tokenName" to use it',
      );
      await engine.createRawTable('baton-numeric-key', [{ name: 'pk', type: 'N', role: 'HASH' }]);
      await expect(createTokenTable({ client, tableName: 'baton-numeric-key' })).rejects.toThrow('[HASH "pk" (N)]');
      await engine.createRawTable('baton-with-range', [
        { name: 'pk', type: 'S', role: 'HASH' },
        { name: 'sk', type: 'S', role: 'RANGE' },
      ]);
      const ranged = await rejection(createTokenTable({ client, tableName: 'baton-with-range' }));
      expect(ranged).toBeInstanceOf(StoreMisconfiguredError);
      expect(ranged.message).toContain('[HASH "pk" (S), RANGE "sk" (S)]');
      expect(ranged.message).toContain('choose another table name');
    });
  });
}

function writeRequestArbitrary(): fc.Arbitrary<WriteRequest> {
  const stringField = fc.constantFrom('a', 'b');
  const numberField = fc.integer({ min: 0, max: 3 });
  const condition: fc.Arbitrary<WriteCondition> = fc.oneof(
    fc.constant({ exists: false }),
    fc.record(
      { exists: fc.constant(true), generation: numberField, revision: fc.integer({ min: 0, max: 6 }), leaseId: fc.constantFrom(null, 'a', 'b') },
      { requiredKeys: ['exists'] },
    ),
  );
  const set = fc
    .subarray([...RECORD_FIELDS])
    .chain((fields) =>
      fc.tuple(...fields.map((field) => ((STRING_FIELDS as readonly RecordField[]).includes(field) ? stringField : numberField).map((value) => [field, value] as const))),
    )
    .map((entries) => Object.fromEntries(entries) as RecordPatch);
  // generation can never be removed (validateWriteRequest refuses it in both stores alike).
  const remove = fc.subarray(RECORD_FIELDS.filter((field) => field !== 'generation'));
  return fc.record({ intent: fc.constantFrom('claim', 'renew', 'publish', 'release'), condition, set, remove });
}
