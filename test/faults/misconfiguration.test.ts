/**
 * Bad configuration and bad data: clear errors, nothing lost, nothing overwritten. Coordinators run
 * on `DynamoDBTokenStore` over a real `DynamoDBClient` and embedded dynalite; refused access is
 * injected inside the client's middleware stack (`test/support/sdk-faults.ts`).
 *
 * Each test states the expected outcome first, then asserts it exactly.
 */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../../src/runtime/memory-store.js';
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import type { TokenCoordinatorOptions } from '../../src/runtime/api.js';
import { DynamoDBTokenStore } from '../../src/runtime/dynamodb-store.js';
import type { DynamoDBTokenStoreOptions } from '../../src/runtime/dynamodb-store.js';
import { InvalidOptionsError, RecordInvalidError, StoreMisconfiguredError, TokenRejectedError } from '../../src/runtime/errors.js';
import { loadBotConfig } from '../../src/lambda/config.js';
import { createHandler } from '../../src/lambda/handler.js';
import { AUTH_SECRET, capturingLogger, fakeIssuer, REGION, rejectionOf, startDynaliteRig } from '../support/fault-rig.js';
import type { DynaliteRig } from '../support/fault-rig.js';
import { isBatonIntent } from '../support/sdk-faults.js';

const TABLE = 'baton-misconfiguration';

let rig: DynaliteRig;
beforeAll(async () => {
  rig = await startDynaliteRig(TABLE);
});
afterAll(async () => {
  await rig.close();
});

/** A coordinator on `tableName`/`key` over a fresh faulty client; `fn` records whether it ran. */
async function coordinatorOn(options: { tableName?: string; key?: string; maxAttempts?: number } = {}) {
  const { client, faults } = await rig.faultClient({ maxAttempts: options.maxAttempts ?? 3 });
  const issuer = fakeIssuer();
  const key = options.key ?? rig.freshKey('misconfigured');
  const store = new DynamoDBTokenStore({ client, tableName: options.tableName ?? TABLE, key });
  const coordinator = createTokenCoordinator({ store, issueToken: (context) => issuer.issueToken(context), pollMs: 10 });
  const sent: string[] = [];
  const call = (fn?: (token: string) => Promise<string>) =>
    coordinator.withToken(
      fn ??
        (async (token) => {
          sent.push(token);
          return token;
        }),
      { deadlineMs: Date.now() + 3_000 },
    );
  return { client, faults, issuer, key, coordinator, sent, call };
}

describe('the table is missing', () => {
  it('fails at once with StoreMisconfiguredError naming the table, the endpoint and the command that creates it; no POST /auth', async () => {
    // Expected: GetItem answers ResourceNotFoundException (not retried by the SDK: 1 wire attempt);
    // the caller gets a non-retryable StoreMisconfiguredError whose message names the table, the
    // endpoint and region, the createTokenTable call and the aws CLI command; fn never runs; no POST /auth.
    const c = await coordinatorOn({ tableName: 'baton-no-such-table' });

    const error = await rejectionOf(c.call());

    expect(error).toBeInstanceOf(StoreMisconfiguredError);
    expect(error).toMatchObject({ code: 'STORE_MISCONFIGURED', retryable: false });
    expect(error.message).toBe(
      `DynamoDB table "baton-no-such-table" was not found at endpoint ${rig.endpoint}. ` +
        'Create it with createTokenTable({ client, tableName: "baton-no-such-table", partitionKey: "pk" }) or with: ' +
        'aws dynamodb create-table --table-name baton-no-such-table --attribute-definitions AttributeName=pk,AttributeType=S ' +
        `--key-schema AttributeName=pk,KeyType=HASH --billing-mode PAY_PER_REQUEST --endpoint-url ${rig.endpoint} --region ${REGION}. ` +
        "If the table exists, check that the client's region and account are the ones that hold it.",
    );
    expect(c.faults.calls().map((call) => [call.command, call.attempt, call.status])).toEqual([['GetItem', 1, 400]]);
    expect(c.sent).toEqual([]);
    expect(c.issuer.api.stats().authCalls).toBe(0);
  });

  it('makes the bot answer 500 STORE_MISCONFIGURED (no Retry-After: an operator must act), with the command in the reason', async () => {
    // Expected: 500, no Retry-After, body code STORE_MISCONFIGURED with the create-table command.
    const config = loadBotConfig({
      CHAT_API_URL: 'http://127.0.0.1:9',
      CHAT_AUTH_SECRET: AUTH_SECRET,
      BATON_TABLE: 'baton-no-such-table',
      BATON_KEY: 'chat-bot',
      AWS_REGION: REGION,
      DYNAMODB_ENDPOINT: rig.endpoint,
    });
    const { client } = await rig.faultClient({ maxAttempts: 2 });
    const { logger } = capturingLogger();
    const handler = createHandler(config, { store: new DynamoDBTokenStore({ client, tableName: 'baton-no-such-table', key: 'chat-bot' }), logger });
    const result = await handler({
      version: '2.0',
      rawPath: '/',
      requestContext: { http: { method: 'POST', path: '/' } },
      headers: {},
      body: JSON.stringify({ messageId: 'm-1', room: 'general', user: 'ada', text: 'hi', sentAtMs: 1 }),
      isBase64Encoded: false,
    });
    expect(result.statusCode).toBe(500);
    expect(result.headers['retry-after']).toBeUndefined();
    const body = JSON.parse(result.body) as Record<string, string>;
    expect(body['code']).toBe('STORE_MISCONFIGURED');
    expect(body['reason']).toContain('aws dynamodb create-table --table-name baton-no-such-table');
  });
});

describe('access is denied (AccessDeniedException injected in the client stack)', () => {
  const denied = { kind: 'service-error', statusCode: 400, errorName: 'AccessDeniedException', message: 'User: arn:aws:sts::123456789012:assumed-role/bot is not authorized' } as const;

  it('on GetItem: StoreMisconfiguredError naming dynamodb:GetItem and the table; one attempt; no POST /auth', async () => {
    // Expected: the SDK does not retry the refusal (1 wire attempt); the message names the refused IAM
    // action dynamodb:GetItem, the table and the endpoint; no POST /auth.
    const c = await coordinatorOn();
    c.faults.inject({ command: 'GetItem', fault: denied });

    const error = await rejectionOf(c.call());

    expect(error).toBeInstanceOf(StoreMisconfiguredError);
    expect(error.message).toBe(
      `access to DynamoDB table "${TABLE}" at endpoint ${rig.endpoint} was refused (AccessDeniedException): the credentials in use need the IAM permission dynamodb:GetItem on this table`,
    );
    expect(c.faults.calls().map((call) => [call.command, call.attempt, call.fault])).toEqual([['GetItem', 1, 'service-error']]);
    expect(c.issuer.api.stats().authCalls).toBe(0);
  });

  it('on UpdateItem: StoreMisconfiguredError naming dynamodb:UpdateItem; the claim is refused before POST /auth; nothing is written', async () => {
    // Expected: the read succeeds (no item), the claim is refused: the caller gets StoreMisconfiguredError
    // naming dynamodb:UpdateItem; no POST /auth; the item does not exist.
    const c = await coordinatorOn();
    c.faults.inject({ command: 'UpdateItem', fault: denied });

    const error = await rejectionOf(c.call());

    expect(error).toBeInstanceOf(StoreMisconfiguredError);
    expect(error.message).toBe(
      `access to DynamoDB table "${TABLE}" at endpoint ${rig.endpoint} was refused (AccessDeniedException): the credentials in use need the IAM permission dynamodb:UpdateItem on this table`,
    );
    expect(c.faults.calls('UpdateItem').map((call) => [call.intent, call.attempt])).toEqual([['claim', 1]]);
    expect(c.issuer.api.stats().authCalls).toBe(0);
    expect(await rig.getRaw(c.key)).toBeUndefined();
  });

  it('on the publish only: the caller gets StoreMisconfiguredError naming dynamodb:UpdateItem; the issued token is never used', async () => {
    // Expected: claim applied, POST /auth issues a token, the publish is refused: the caller gets
    // StoreMisconfiguredError (dynamodb:UpdateItem), fn never runs with the unpublished token, and the
    // item still holds only our lease (it goes stale after leaseMs; nothing else can be written).
    const c = await coordinatorOn();
    c.faults.inject({ command: 'UpdateItem', when: isBatonIntent('publish'), fault: denied });

    const error = await rejectionOf(c.call());

    expect(error).toBeInstanceOf(StoreMisconfiguredError);
    expect(error.message).toContain('dynamodb:UpdateItem');
    expect(c.sent).toEqual([]);
    expect(c.issuer.api.stats().authCalls).toBe(1);
    const item = await rig.getRaw(c.key);
    expect(item?.['token']).toBeUndefined();
    expect(item?.['leaseId']?.S).toMatch(/^i-/);
  });

  it('with unrecognised credentials: StoreMisconfiguredError saying the credentials were not accepted', async () => {
    // Expected: UnrecognizedClientException → StoreMisconfiguredError naming dynamodb:GetItem and the
    // credentials; no POST /auth.
    const c = await coordinatorOn();
    c.faults.inject({ command: 'GetItem', fault: { kind: 'service-error', statusCode: 400, errorName: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' } });

    const error = await rejectionOf(c.call());

    expect(error).toBeInstanceOf(StoreMisconfiguredError);
    expect(error.message).toMatch(/^the AWS credentials were not accepted when calling dynamodb:GetItem on DynamoDB table "baton-misconfiguration" at endpoint .* \(UnrecognizedClientException\)/);
    expect(c.issuer.api.stats().authCalls).toBe(0);
  });
});

describe('an item Baton cannot read is refused, and never overwritten', () => {
  const valid: Record<string, AttributeValue> = { schemaVersion: { N: '1' }, revision: { N: '4' }, generation: { N: '2' }, token: { S: 'LEAKCHECK-tok-planted' } };
  const cases: ReadonlyArray<{ label: string; item: Record<string, AttributeValue>; message: RegExp }> = [
    {
      label: 'an item of another shape (another application uses the key)',
      item: { owner: { S: 'billing-service' }, payload: { M: { secret: { S: 'do-not-touch' } } } },
      message: /is not a Baton token record: attribute "schemaVersion": expected the number 1, found nothing .*; attribute "revision": .*missing.*unexpected attribute "owner".*Baton never overwrites an item it cannot read/,
    },
    {
      label: 'an item of a newer schema version',
      item: { ...valid, schemaVersion: { N: '2' }, tokenV2: { M: { value: { S: 'x' } } } },
      message: /was written by a newer Baton \(record schema version 2; this version of dynamo-baton reads version 1\)\. It will not be overwritten: upgrade dynamo-baton on every instance/,
    },
    { label: 'a token stored as a number', item: { ...valid, token: { N: '42' } }, message: /attribute "token": expected a non-empty string, found a number/ },
    { label: 'a generation stored as a string', item: { ...valid, generation: { S: '2' } }, message: /attribute "generation": expected a non-negative integer, found a string/ },
    { label: 'a missing revision', item: { schemaVersion: { N: '1' }, generation: { N: '2' }, token: { S: 'LEAKCHECK-tok-planted' } }, message: /attribute "revision": expected a non-negative integer, found nothing/ },
    { label: 'an empty lease id', item: { ...valid, leaseId: { S: '' } }, message: /attribute "leaseId": expected a non-empty string, found an empty string/ },
  ];

  it.each(cases)('refuses $label: RecordInvalidError for every instance, 0 POST /auth, the item byte-for-byte unchanged', async ({ item, message }) => {
    // Expected: 3 instances each read the item and fail with a non-retryable RecordInvalidError naming
    // the table, the key and the problem; none writes; fn never runs; no POST /auth; the raw item after
    // the run equals the raw item before.
    const key = rig.freshKey('record-invalid');
    await rig.putRaw(key, item);
    const before = await rig.getRaw(key);
    const fleet = await Promise.all([1, 2, 3].map(() => coordinatorOn({ key })));

    const errors = await Promise.all(fleet.map((c) => rejectionOf(c.call())));

    for (const error of errors) {
      expect(error).toBeInstanceOf(RecordInvalidError);
      expect(error).toMatchObject({ code: 'RECORD_INVALID', retryable: false });
      expect(error.message).toContain(`DynamoDB table "${TABLE}" (pk="${key}")`);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('LEAKCHECK-tok-planted');
      expect(error.message).not.toContain('do-not-touch');
    }
    for (const c of fleet) {
      expect(c.sent).toEqual([]);
      expect(c.issuer.api.stats().authCalls).toBe(0);
      expect(c.faults.calls('UpdateItem')).toEqual([]);
    }
    expect(await rig.getRaw(key)).toEqual(before);
  });

  it('refuses an item replaced by a newer schema while an instance holds a token: the rejection re-read fails, nothing is written', async () => {
    // Expected: the instance gets a token (1 POST /auth). The item is then replaced by a schema-2 item.
    // The warm call still uses the cache (no store call). When fn reports the token rejected, the re-read
    // refuses the item: RecordInvalidError; no claim, no second POST /auth; the schema-2 item unchanged.
    const c = await coordinatorOn();
    const token = await c.call();
    const newer = { schemaVersion: { N: '2' }, revision: { N: '9' }, generation: { N: '7' }, token: { S: 'someone-elses-format' } };
    await rig.putRaw(c.key, newer);
    expect(await c.call()).toBe(token);

    const error = await rejectionOf(
      c.call(async () => {
        throw new TokenRejectedError('chat API answered 401');
      }),
    );

    expect(error).toBeInstanceOf(RecordInvalidError);
    expect(error.message).toMatch(/newer Baton/);
    expect(c.issuer.api.stats().authCalls).toBe(1);
    expect(c.faults.calls('UpdateItem').map((call) => call.intent)).toEqual(['claim', 'publish']);
    expect(await rig.getRaw(c.key)).toEqual({ ...newer, pk: { S: c.key } });
  });
});

describe('invalid options are refused at construction, naming the option and its allowed range', () => {
  const store = new MemoryTokenStore();
  const issueToken = async (): Promise<{ token: string }> => ({ token: 't' });
  const base: TokenCoordinatorOptions = { store, issueToken };

  /** [option, allowed range as the message states it, bad values, valid boundary values]. */
  const numeric: ReadonlyArray<[keyof TokenCoordinatorOptions, string, Partial<TokenCoordinatorOptions>, readonly unknown[], readonly number[]]> = [
    ['leaseMs', 'from 100 to 900000', {}, [99, 900_001, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, '10000', null], [100, 900_000]],
    ['maxClockSkewMs', 'from 0 to 2000', { leaseMs: 2_000 }, [-1, 2_001, 0.5, Number.NaN, '0'], [0, 2_000]],
    ['pollMs', 'from 5 to 10000', {}, [4, 10_001, 7.5, Number.NaN, '100'], [5, 10_000]],
    ['pollMs', 'from 5 to 200', { leaseMs: 200 }, [201], [200]],
    ['maxAttempts', 'from 1 to 10', {}, [0, 11, 2.5, -3, '3'], [1, 10]],
    ['refreshMarginMs', 'from 0 to 86400000', {}, [-1, 86_400_001, 0.1, '60000'], [0, 86_400_000]],
    ['waitMsMax', 'from 1 to 900000', {}, [0, 900_001, 1.5, '30000'], [1, 900_000]],
    ['freshTokenMs', 'from 0 to 3600000', {}, [-1, 3_600_001, 1.5, '2000'], [0, 3_600_000]],
  ];

  for (const [option, range, extra, bad, boundaries] of numeric) {
    it(`${option} (${range}${Object.keys(extra).length > 0 ? ` with ${JSON.stringify(extra)}` : ''})`, () => {
      // Expected: every bad value throws InvalidOptionsError whose option is the name and whose message
      // states the range; the boundary values are accepted.
      for (const value of bad) {
        const error = constructionError(() => createTokenCoordinator({ ...base, ...extra, [option]: value } as TokenCoordinatorOptions));
        expect(error, `${option}=${String(value)}`).toBeInstanceOf(InvalidOptionsError);
        expect((error as InvalidOptionsError).option).toBe(option);
        expect((error as Error).message).toContain(`option ${option} must be an integer ${range}; got `);
      }
      for (const value of boundaries) expect(() => createTokenCoordinator({ ...base, ...extra, [option]: value })).not.toThrow();
    });
  }

  const shaped: ReadonlyArray<[string, readonly unknown[], RegExp]> = [
    ['store', [undefined, null, {}, { read: () => undefined, write: () => undefined }], /option store is required: pass a DynamoDBTokenStore/],
    ['issueToken', [undefined, 'POST /auth', {}], /option issueToken is required: a function \(\{ signal \}\) => Promise<\{ token, expiresAtMs\? \}>/],
    ['clock', [{}, { now: 5 }, 'system'], /option clock must be an object with now\(\): number \(epoch ms\)/],
    ['random', ['seeded', 0.5], /option random must be a function returning a number in \[0, 1\)/],
    ['logger', [{ info: () => undefined }, 'console'], /option logger must have debug, info, warn and error methods/],
    ['onEvent', ['events', {}], /option onEvent must be a function/],
    ['instanceId', ['', 'has space', 'x'.repeat(65), 7, 'é'], /option instanceId must be 1 to 64 characters of letters, digits/],
    ['scheduler', [{ setTimeout: () => 1 }, 'timers'], /option scheduler must have setTimeout and clearTimeout/],
  ];

  it.each(shaped)('%s', (option, values, message) => {
    // Expected: InvalidOptionsError naming the option, message saying what is allowed.
    for (const value of values) {
      const error = constructionError(() => createTokenCoordinator({ ...base, [option]: value } as unknown as TokenCoordinatorOptions));
      expect(error, `${option}=${String(value)}`).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).option).toBe(option);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('the options object itself, and withToken arguments', async () => {
    // Expected: a missing options object names "options"; withToken refuses a non-function fn and a
    // non-finite deadlineMs by name, before any store call.
    for (const value of [undefined, null, 'options']) {
      const error = constructionError(() => createTokenCoordinator(value as unknown as TokenCoordinatorOptions));
      expect((error as InvalidOptionsError).option).toBe('options');
    }
    const coordinator = createTokenCoordinator(base);
    await expect(coordinator.withToken('fn' as unknown as () => Promise<void>)).rejects.toMatchObject({ option: 'fn' });
    await expect(coordinator.withToken(async () => undefined, { deadlineMs: Number.NaN })).rejects.toMatchObject({ option: 'deadlineMs' });
    await expect(coordinator.withToken(async () => undefined, { deadlineMs: '2030' as unknown as number })).rejects.toMatchObject({ option: 'deadlineMs' });
    expect(coordinator.stats().storeReads).toBe(0);
  });

  describe('new DynamoDBTokenStore', () => {
    let client: DynamoDBClient;
    beforeAll(async () => {
      client = (await rig.faultClient({ maxAttempts: 1 })).client;
    });

    const storeCases: ReadonlyArray<[keyof DynamoDBTokenStoreOptions, readonly unknown[], RegExp]> = [
      ['client', [undefined, null, {}, { send: 'no' }], /client must be a DynamoDBClient from @aws-sdk\/client-dynamodb/],
      ['tableName', [undefined, '', 'ab', 'has space', 'x'.repeat(256), 'émoji', 7], /tableName must be a DynamoDB table name: 3 to 255 characters among a-z, A-Z, 0-9, "_", "-" and "\."/],
      ['key', [undefined, '', 7, 'k'.repeat(2_049), 'é'.repeat(1_025)], /key must be the partition-key value of the token's item: a non-empty string of at most 2048 bytes/],
      ['partitionKey', ['', 'p'.repeat(256), 7], /partitionKey must be the name of the table's partition-key attribute: 1 to 255 bytes/],
      ['partitionKey', ['token', 'revision', 'leaseId', 'schemaVersion'], /partitionKey must not be one of the attribute names Baton stores/],
    ];

    it.each(storeCases)('%s', (option, values, message) => {
      // Expected: InvalidOptionsError naming the option and its allowed range, at construction.
      for (const value of values) {
        const error = constructionError(() => new DynamoDBTokenStore({ client, tableName: TABLE, key: 'k', [option]: value } as unknown as DynamoDBTokenStoreOptions));
        expect(error, `${option}=${String(value)}`).toBeInstanceOf(InvalidOptionsError);
        expect((error as InvalidOptionsError).option).toBe(option);
        expect((error as Error).message).toMatch(message);
      }
    });

    it('accepts the boundaries', () => {
      for (const options of [
        { tableName: 'abc', key: 'k' },
        { tableName: 'x'.repeat(255), key: 'k'.repeat(2_048) },
        { tableName: 'a.b-c_d', key: 'é'.repeat(1_024), partitionKey: 'p'.repeat(255) },
      ]) {
        expect(() => new DynamoDBTokenStore({ client, ...options })).not.toThrow();
      }
      expect((constructionError(() => new DynamoDBTokenStore(undefined as unknown as DynamoDBTokenStoreOptions)) as InvalidOptionsError).option).toBe('options');
    });
  });
});

function constructionError(construct: () => unknown): unknown {
  try {
    construct();
  } catch (error) {
    return error;
  }
  return undefined;
}
