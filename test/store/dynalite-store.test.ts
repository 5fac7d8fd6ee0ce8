import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_FIELDS, RECORD_FIELDS, STRING_FIELDS } from '../../src/machine/record.js';
import type { RecordField, RecordPatch, WriteCondition, WriteRequest } from '../../src/machine/record.js';
import { InvalidOptionsError, RecordInvalidError, StoreMisconfiguredError, StoreUnavailableError } from '../../src/runtime/errors.js';
import { DynamoDBTokenStore } from '../../src/runtime/dynamodb-store.js';
import type { DynamoDBTokenStoreOptions } from '../../src/runtime/dynamodb-store.js';
import { MemoryTokenStore } from '../../src/runtime/memory-store.js';
import { fromAttributeMap } from '../../src/runtime/record-codec.js';
import { createTokenTable } from '../../src/runtime/table.js';
import { describeStoreContract } from './contract.js';
import type { StoreFixture, StoreFixtureOptions } from './contract.js';

// dynalite ships no type declarations; this is the part of its API the tests use.
type Dynalite = (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

const REGION = 'us-east-1';
const DUMMY_CREDENTIALS = { accessKeyId: 'local-access-key', secretAccessKey: 'local-secret-key' } as const;
const CONTRACT_TABLE_PREFIX = 'baton-contract';
/** Polls are instant on dynalite; keep table creation in tests fast. */
const TEST_POLL_INTERVAL_MS = 10;

let server: Server;
let endpoint: string;
let client: DynamoDBClient;
const extraClients: DynamoDBClient[] = [];

function makeClient(config: Partial<DynamoDBClientConfig> = {}): DynamoDBClient {
  const made = new DynamoDBClient({ endpoint, region: REGION, credentials: DUMMY_CREDENTIALS, ...config });
  extraClients.push(made);
  return made;
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new DynamoDBClient({ endpoint, region: REGION, credentials: DUMMY_CREDENTIALS });
});

afterAll(async () => {
  client.destroy();
  for (const made of extraClients) made.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

/** Plain JS value to DynamoDB attribute value, for planting raw items. */
function marshal(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(marshal) };
  if (typeof value === 'object') return { M: Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, marshal(inner)])) };
  throw new Error(`cannot marshal ${typeof value}`);
}

// One table per partition-key name, created on first use, shared by fixtures (each uses fresh
// keys). The same factory shape works against DynamoDB Local or real DynamoDB.
const tables = new Map<string, Promise<string>>();
function tableFor(partitionKey: string): Promise<string> {
  let table = tables.get(partitionKey);
  if (table === undefined) {
    const tableName = `${CONTRACT_TABLE_PREFIX}-${partitionKey}`;
    table = createTokenTable({ client, tableName, partitionKey, activePollIntervalMs: TEST_POLL_INTERVAL_MS }).then(() => tableName);
    tables.set(partitionKey, table);
  }
  return table;
}

async function makeDynamoFixture(options: StoreFixtureOptions): Promise<StoreFixture> {
  const partitionKey = options.partitionKey ?? 'pk';
  const tableName = await tableFor(partitionKey);
  const run = randomUUID();
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

describeStoreContract('DynamoDBTokenStore on dynalite', makeDynamoFixture);

/** A table made with the raw client, for key-schema mismatches. */
async function createRawTable(tableName: string, keys: readonly { name: string; type: 'S' | 'N'; role: 'HASH' | 'RANGE' }[]): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: keys.map((key) => ({ AttributeName: key.name, AttributeType: key.type })),
      KeySchema: keys.map((key) => ({ AttributeName: key.name, KeyType: key.role })),
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}

const CREATE: WriteRequest = { intent: 'claim', condition: { exists: false }, set: { generation: 0 }, remove: [] };
const PUBLISH_SECRET: WriteRequest = {
  intent: 'publish',
  condition: { exists: true, leaseId: 'l-1' },
  set: { generation: 1, token: 'super-secret-token-value' },
  remove: [...LEASE_FIELDS],
};

/** Makes every command named `commandName` fail with an error named `errorName` before it is sent. */
function failingClient(commandName: string, errorName: string): DynamoDBClient {
  const failing = makeClient();
  failing.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) throw Object.assign(new Error(`injected ${errorName}`), { name: errorName, $metadata: { httpStatusCode: 400 } });
      return next(args);
    },
    { step: 'initialize', name: 'injectFailure' },
  );
  return failing;
}

describe('DynamoDBTokenStore specifics (dynalite)', () => {
  it('sends the requests it promises: consistent reads, one conditional UpdateItem, read-back only when the engine returns no old item', async () => {
    const tableName = await tableFor('pk');
    const spy = makeClient();
    const sent: { command: string; input: Record<string, unknown> }[] = [];
    spy.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push({ command: context.commandName ?? '?', input: args.input as Record<string, unknown> });
        return next(args);
      },
      { step: 'initialize', name: 'spy' },
    );
    const store = new DynamoDBTokenStore({ client: spy, tableName, key: `spy-${randomUUID()}` });
    await store.read({ consistent: false });
    await store.write(CREATE);
    await store.write(CREATE);
    expect(sent.map(({ command, input }) => [command, input['ConsistentRead'] ?? input['ConditionExpression']])).toEqual([
      ['GetItemCommand', false],
      ['UpdateItemCommand', 'attribute_not_exists(#pk)'],
      ['UpdateItemCommand', 'attribute_not_exists(#pk)'],
      ['GetItemCommand', true], // dynalite returned no old item with the failed condition
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

  it('uses the old item carried by the exception when the engine returns one (as DynamoDB and DynamoDB Local do)', async () => {
    const tableName = await tableFor('pk');
    const key = `old-item-${randomUUID()}`;
    const withOldItem = makeClient();
    const commands: string[] = [];
    withOldItem.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '?');
        try {
          return await next(args);
        } catch (error) {
          if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
          // Emulate ReturnValuesOnConditionCheckFailure: ALL_OLD, which dynalite ignores.
          const { Key } = args.input as { Key?: Record<string, AttributeValue> };
          const current = await client.send(new GetItemCommand({ TableName: tableName, Key, ConsistentRead: true }));
          throw Object.assign(error as Error, { Item: current.Item });
        }
      },
      { step: 'initialize', name: 'returnOldItem' },
    );
    const store = new DynamoDBTokenStore({ client: withOldItem, tableName, key });
    const created = await store.write(CREATE);
    expect(await store.write(CREATE)).toEqual({ applied: false, current: created.applied ? created.record : undefined });
    expect(commands).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);

    const newerKey = `newer-${randomUUID()}`;
    await client.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: newerKey }, schemaVersion: { N: '2' }, revision: { N: '1' }, generation: { N: '0' } } }),
    );
    const newer = new DynamoDBTokenStore({ client: withOldItem, tableName, key: newerKey });
    await expect(newer.write(CREATE)).rejects.toThrow(/newer Baton/);
    expect(commands.slice(2)).toEqual(['UpdateItemCommand']);
  });

  it('reports a missing table as misconfiguration, naming the table and the command that creates it', async () => {
    const store = new DynamoDBTokenStore({ client, tableName: 'baton-missing', key: 'chat', partitionKey: 'tokenName' });
    const command =
      'aws dynamodb create-table --table-name baton-missing --attribute-definitions AttributeName=tokenName,AttributeType=S ' +
      `--key-schema AttributeName=tokenName,KeyType=HASH --billing-mode PAY_PER_REQUEST --endpoint-url ${endpoint} --region ${REGION}`;
    for (const failure of [store.read({ consistent: true }), store.write(CREATE)]) {
      const error = await rejection(failure);
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect(error.message).toContain(`DynamoDB table "baton-missing" was not found at endpoint ${endpoint}`);
      expect(error.message).toContain(command);
      expect(error.message).toContain('createTokenTable({ client, tableName: "baton-missing", partitionKey: "tokenName" })');
      expect((error as StoreMisconfiguredError).retryable).toBe(false);
    }
  });

  it('reports a table whose key schema does not match partitionKey', async () => {
    await createRawTable('baton-keyed-by-id', [{ name: 'id', type: 'S', role: 'HASH' }]);
    const store = new DynamoDBTokenStore({ client, tableName: 'baton-keyed-by-id', key: 'chat' });
    for (const failure of [store.read({ consistent: true }), store.write(CREATE)]) {
      const error = await rejection(failure);
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect(error.message).toMatch(/does not have the key schema Baton expects: a string partition key named "pk" and no sort key/);
    }
  });

  it('creates the table idempotently and refuses an existing table with another key schema', async () => {
    const first = await createTokenTable({ client, tableName: 'baton-idempotent', partitionKey: 'tokenName', activePollIntervalMs: TEST_POLL_INTERVAL_MS });
    const second = await createTokenTable({ client, tableName: 'baton-idempotent', partitionKey: 'tokenName', activePollIntervalMs: TEST_POLL_INTERVAL_MS });
    expect(first).toEqual({ created: true, tableName: 'baton-idempotent', partitionKey: 'tokenName' });
    expect(second).toEqual({ created: false, tableName: 'baton-idempotent', partitionKey: 'tokenName' });
    const store = new DynamoDBTokenStore({ client, tableName: 'baton-idempotent', key: 'chat', partitionKey: 'tokenName' });
    expect((await store.write(CREATE)).applied).toBe(true);

    await expect(createTokenTable({ client, tableName: 'baton-idempotent' })).rejects.toThrow(
      'already exists with key schema [HASH "tokenName" (S)], but Baton needs a single string partition key named "pk" and no sort key: pass partitionKey: "tokenName" to use it',
    );
    await createRawTable('baton-numeric-key', [{ name: 'pk', type: 'N', role: 'HASH' }]);
    await expect(createTokenTable({ client, tableName: 'baton-numeric-key' })).rejects.toThrow('[HASH "pk" (N)]');
    await createRawTable('baton-with-range', [
      { name: 'pk', type: 'S', role: 'HASH' },
      { name: 'sk', type: 'S', role: 'RANGE' },
    ]);
    const ranged = await rejection(createTokenTable({ client, tableName: 'baton-with-range' }));
    expect(ranged).toBeInstanceOf(StoreMisconfiguredError);
    expect(ranged.message).toContain('[HASH "pk" (S), RANGE "sk" (S)]');
    expect(ranged.message).toContain('choose another table name');
  });

  it('validates its options at construction, naming the option', () => {
    const good: DynamoDBTokenStoreOptions = { client, tableName: 'baton-tokens', key: 'chat' };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, client: undefined }, 'client'],
      [{ ...good, client: { send: 'no' } }, 'client'],
      [{ ...good, tableName: 'ab' }, 'tableName'],
      [{ ...good, tableName: 'has space' }, 'tableName'],
      [{ ...good, tableName: 'x'.repeat(256) }, 'tableName'],
      [{ ...good, key: '' }, 'key'],
      [{ ...good, key: 7 }, 'key'],
      [{ ...good, key: 'k'.repeat(2049) }, 'key'],
      [{ ...good, partitionKey: '' }, 'partitionKey'],
      [{ ...good, partitionKey: 'token' }, 'partitionKey'],
      [{ ...good, partitionKey: 'revision' }, 'partitionKey'],
      [{ ...good, partitionKey: 'p'.repeat(256) }, 'partitionKey'],
    ];
    for (const [options, option] of cases) {
      let thrown: unknown;
      try {
        new DynamoDBTokenStore(options as unknown as DynamoDBTokenStoreOptions);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, option).toBeInstanceOf(InvalidOptionsError);
      expect((thrown as InvalidOptionsError).option).toBe(option);
      expect((thrown as Error).message).toContain(option);
    }
    expect(() => new DynamoDBTokenStore(undefined as unknown as DynamoDBTokenStoreOptions)).toThrow(InvalidOptionsError);
    expect(() => new DynamoDBTokenStore({ ...good, key: 'k'.repeat(2048), partitionKey: 'tokenName' })).not.toThrow();
    return expect(createTokenTable({ client, tableName: 'baton-x', activePollsMax: 0 })).rejects.toMatchObject({ option: 'activePollsMax' });
  });

  it('describes itself by table, key and endpoint, never by credentials', async () => {
    const withUserInfo = makeClient({ endpoint: endpoint.replace('http://', 'http://someone:endpoint-password@') });
    const store = new DynamoDBTokenStore({ client: withUserInfo, tableName: 'baton-tokens', key: 'chat-api', partitionKey: 'tokenName' });
    await store.read({ consistent: true }).catch(() => undefined);
    expect(store.describe()).toBe(`DynamoDB table "baton-tokens" (tokenName="chat-api") at endpoint ${endpoint}`);
    const regional = new DynamoDBTokenStore({ client: new DynamoDBClient({ region: 'eu-west-3', credentials: DUMMY_CREDENTIALS }), tableName: 'baton-tokens', key: 'k' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(regional.describe()).toBe('DynamoDB table "baton-tokens" (pk="k") at region eu-west-3');
    for (const text of [store.describe(), regional.describe()]) {
      for (const secret of ['endpoint-password', DUMMY_CREDENTIALS.accessKeyId, DUMMY_CREDENTIALS.secretAccessKey]) expect(text).not.toContain(secret);
    }
  });

  describe('refuses malformed items written raw through the client', () => {
    // `untouched: false` marks values of the right DynamoDB type but out of range: the condition
    // cannot see those, so a write whose own condition holds is applied and *then* refused when
    // its result is decoded (RecordInvalidError). Every other case is guaranteed untouched.
    const cases: readonly { label: string; override: Record<string, AttributeValue>; message: RegExp; untouched: boolean }[] = [
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
    for (const { label, override, message, untouched } of cases) {
      it(`refuses ${label}`, async () => {
        const tableName = await tableFor('pk');
        const key = `malformed-${randomUUID()}`;
        const item = { pk: { S: key }, schemaVersion: { N: '1' }, revision: { N: '3' }, generation: { N: '1' }, ...override };
        await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
        const store = new DynamoDBTokenStore({ client, tableName, key });
        const error = await rejection(store.read({ consistent: true }));
        expect(error).toBeInstanceOf(RecordInvalidError);
        expect(error.message).toMatch(message);
        const writes: WriteRequest[] = [
          CREATE,
          { intent: 'claim', condition: { exists: true, leaseId: null }, set: { leaseId: 'l-1' }, remove: [] },
          { intent: 'invalidate', condition: { exists: true }, set: { failureCount: 1 }, remove: [] },
        ];
        for (const write of writes) await expect(store.write(write)).rejects.toBeInstanceOf(RecordInvalidError);
        const stored = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
        if (untouched) expect(stored.Item).toEqual(item);
        else expect(stored.Item).not.toEqual(item);
      });
    }
  });

  it('maps refused access to misconfiguration naming the IAM action and the table', async () => {
    const getDenied = new DynamoDBTokenStore({ client: failingClient('GetItemCommand', 'AccessDeniedException'), tableName: 'baton-tokens', key: 'k' });
    const readError = await rejection(getDenied.read({ consistent: true }));
    expect(readError).toBeInstanceOf(StoreMisconfiguredError);
    expect(readError.message).toContain(
      `access to DynamoDB table "baton-tokens" at endpoint ${endpoint} was refused (AccessDeniedException): the credentials in use need the IAM permission dynamodb:GetItem`,
    );
    const updateDenied = new DynamoDBTokenStore({ client: failingClient('UpdateItemCommand', 'AccessDeniedException'), tableName: 'baton-tokens', key: 'k' });
    expect((await rejection(updateDenied.write(CREATE))).message).toContain('dynamodb:UpdateItem');
    const unknownKey = new DynamoDBTokenStore({ client: failingClient('GetItemCommand', 'UnrecognizedClientException'), tableName: 'baton-tokens', key: 'k' });
    const credentialsError = await rejection(unknownKey.read({ consistent: true }));
    expect(credentialsError).toBeInstanceOf(StoreMisconfiguredError);
    expect(credentialsError.message).toMatch(/credentials were not accepted when calling dynamodb:GetItem on DynamoDB table "baton-tokens".*UnrecognizedClientException/);
  });

  it('maps throttling to a retryable unavailability; for writes it says the outcome is unknown, without the token', async () => {
    const throttled = new DynamoDBTokenStore({ client: failingClient('UpdateItemCommand', 'ThrottlingException'), tableName: 'baton-tokens', key: 'k' });
    const error = await rejection(throttled.write(PUBLISH_SECRET));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).retryable).toBe(true);
    expect(error.message).toBe(
      `the publish write to DynamoDB table "baton-tokens" (pk="k") at endpoint ${endpoint} failed (ThrottlingException, HTTP 400) and may or may not have been applied; read the item back to find out`,
    );
    expect(error.cause).toBeInstanceOf(Error);
    const readThrottled = new DynamoDBTokenStore({ client: failingClient('GetItemCommand', 'ProvisionedThroughputExceededException'), tableName: 'baton-tokens', key: 'k' });
    const readError = await rejection(readThrottled.read({ consistent: true }));
    expect(readError).toBeInstanceOf(StoreUnavailableError);
    expect(readError.message).toMatch(/^could not read DynamoDB table "baton-tokens" \(pk="k"\) at endpoint .* \(ProvisionedThroughputExceededException, HTTP 400\); try again later$/);
  });

  it('maps an unreachable endpoint to StoreUnavailableError', async () => {
    const closed = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadEndpoint = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const store = new DynamoDBTokenStore({ client: makeClient({ endpoint: deadEndpoint, maxAttempts: 1 }), tableName: 'baton-tokens', key: 'k' });
    const readError = await rejection(store.read({ consistent: true }));
    expect(readError).toBeInstanceOf(StoreUnavailableError);
    expect(readError.message).toContain('ECONNREFUSED');
    const writeError = await rejection(store.write(PUBLISH_SECRET));
    expect(writeError).toBeInstanceOf(StoreUnavailableError);
    expect(writeError.message).toContain('may or may not have been applied');
    expect(writeError.message).not.toContain('super-secret-token-value');
  });

  it('behaves exactly like MemoryTokenStore on random write sequences (differential, seeded)', async () => {
    const tableName = await tableFor('pk');
    const seed = Number(process.env['BATON_SEED'] ?? Date.now() % 2_147_483_647);
    console.log(`differential store test seed: ${seed} (replay with BATON_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(fc.array(writeRequestArbitrary(), { minLength: 1, maxLength: 25 }), async (requests) => {
        const memory = new MemoryTokenStore();
        const dynamo = new DynamoDBTokenStore({ client, tableName, key: `differential-${randomUUID()}` });
        for (const request of requests) {
          expect(await dynamo.write(request)).toEqual(await memory.write(request));
        }
        expect(await dynamo.read({ consistent: true })).toEqual(await memory.read({ consistent: true }));
      }),
      { seed, numRuns: 60 },
    );
  });
});

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
