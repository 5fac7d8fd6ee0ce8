import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { LEASE_FIELDS } from '../../src/machine/record.js';
import type { WriteRequest } from '../../src/machine/record.js';
import { InvalidOptionsError, StoreMisconfiguredError, StoreUnavailableError } from '../../src/runtime/errors.js';
import { DynamoDBTokenStore } from '../../src/runtime/dynamodb-store.js';
import type { DynamoDBTokenStoreOptions } from '../../src/runtime/dynamodb-store.js';
import { createTokenTable } from '../../src/runtime/table.js';
import { describeStoreContract } from './contract.js';
import { CREATE, describeDynamoDBEngineChecks, rejection, useDynamoDBEngine } from './dynamodb-engine.js';

// dynalite ships no type declarations; this is the part of its API the tests use.
type Dynalite = (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

const REGION = 'us-east-1';
const DUMMY_CREDENTIALS = { accessKeyId: 'local-access-key', secretAccessKey: 'local-secret-key' } as const;

async function startDynalite(): Promise<{ endpoint: string; server: Server }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function closeDynalite(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

const engine = useDynamoDBEngine({
  name: 'dynalite',
  // dynalite ignores ReturnValuesOnConditionCheckFailure: the store reads the item back.
  returnsOldItemOnConditionFailure: false,
  start: async () => {
    const { endpoint, server } = await startDynalite();
    return { clientConfig: { endpoint, region: REGION, credentials: DUMMY_CREDENTIALS }, stop: () => closeDynalite(server) };
  },
});

describeStoreContract('DynamoDBTokenStore on dynalite', engine.makeFixture);
describeDynamoDBEngineChecks(engine);

const PUBLISH_SECRET: WriteRequest = {
  intent: 'publish',
  condition: { exists: true, leaseId: 'l-1' },
  set: { generation: 1, token: 'super-secret-token-value' },
  remove: [...LEASE_FIELDS],
};

/** Makes every command named `commandName` fail with an error named `errorName` before it is sent. */
function failingClient(commandName: string, errorName: string): DynamoDBClient {
  const failing = engine.makeClient();
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
  it('uses the old item carried by the exception when the engine returns one (as DynamoDB and DynamoDB Local do)', async () => {
    const { tableName, key } = await engine.trackedKey('old-item');
    const withOldItem = engine.makeClient();
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
          const current = await engine.client.send(new GetItemCommand({ TableName: tableName, Key, ConsistentRead: true }));
          throw Object.assign(error as Error, { Item: current.Item });
        }
      },
      { step: 'initialize', name: 'returnOldItem' },
    );
    const store = new DynamoDBTokenStore({ client: withOldItem, tableName, key });
    const created = await store.write(CREATE);
    expect(await store.write(CREATE)).toEqual({ applied: false, current: created.applied ? created.record : undefined });
    expect(commands).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);

    const { key: newerKey } = await engine.trackedKey('newer');
    await engine.client.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: newerKey }, schemaVersion: { N: '2' }, revision: { N: '1' }, generation: { N: '0' } } }),
    );
    const newer = new DynamoDBTokenStore({ client: withOldItem, tableName, key: newerKey });
    await expect(newer.write(CREATE)).rejects.toThrow(/newer Baton/);
    expect(commands.slice(2)).toEqual(['UpdateItemCommand']);
  });

  it('validates its options at construction, naming the option', () => {
    const { client } = engine;
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
    const endpoint = engine.endpoint as string;
    const withUserInfo = engine.makeClient({ endpoint: endpoint.replace('http://', 'http://someone:endpoint-password@') });
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

  it('maps refused access to misconfiguration naming the IAM action and the table', async () => {
    const { endpoint } = engine;
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
    const { endpoint } = engine;
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
    const closed = await startDynalite();
    await closeDynalite(closed.server);
    const deadEndpoint = closed.endpoint;
    const store = new DynamoDBTokenStore({ client: engine.makeClient({ endpoint: deadEndpoint, maxAttempts: 1 }), tableName: 'baton-tokens', key: 'k' });
    const readError = await rejection(store.read({ consistent: true }));
    expect(readError).toBeInstanceOf(StoreUnavailableError);
    expect(readError.message).toContain('ECONNREFUSED');
    const writeError = await rejection(store.write(PUBLISH_SECRET));
    expect(writeError).toBeInstanceOf(StoreUnavailableError);
    expect(writeError.message).toContain('may or may not have been applied');
    expect(writeError.message).not.toContain('super-secret-token-value');
  });
});
