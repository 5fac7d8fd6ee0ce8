import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient, TableDescription } from '@aws-sdk/client-dynamodb';
import { InvalidOptionsError, StoreMisconfiguredError, StoreUnavailableError } from './errors.js';
import {
  DEFAULT_PARTITION_KEY,
  assertClientOption,
  assertPartitionKeyOption,
  assertTableNameOption,
  errorLabel,
  errorName,
  misconfigurationError,
  resolveClientLocation,
} from './dynamodb-store.js';
import type { ClientLocation, DynamoDBAction } from './dynamodb-store.js';

/**
 * How many times {@link createTokenTable} asks whether the table is ACTIVE before giving up.
 *
 * @example
 * ```ts
 * await createTokenTable({ client, tableName: 'baton', activePollsMax: TABLE_ACTIVE_POLLS_MAX * 2 });
 * ```
 */
export const TABLE_ACTIVE_POLLS_MAX = 60;

/**
 * Pause between two of those polls. DynamoDB usually activates an on-demand table within seconds.
 *
 * @example
 * ```ts
 * const waitMsMax = TABLE_ACTIVE_POLLS_MAX * TABLE_ACTIVE_POLL_INTERVAL_MS; // about one minute
 * ```
 */
export const TABLE_ACTIVE_POLL_INTERVAL_MS = 1_000;

/**
 * Options of {@link createTokenTable}.
 *
 * @example
 * ```ts
 * const options: CreateTokenTableOptions = { client: new DynamoDBClient({}), tableName: 'baton', partitionKey: 'pk' };
 * ```
 */
export interface CreateTokenTableOptions {
  /** A client from `@aws-sdk/client-dynamodb`, configured with the region (and endpoint) of the table. */
  readonly client: DynamoDBClient;
  /** Name of the table to create (or to accept if it already exists with the right key schema). */
  readonly tableName: string;
  /**
   * Name of the string partition-key attribute; pass the same value to `DynamoDBTokenStore`.
   * @defaultValue `'pk'`
   */
  readonly partitionKey?: string;
  /**
   * How many times to check for `ACTIVE` before failing.
   * @defaultValue {@link TABLE_ACTIVE_POLLS_MAX}
   */
  readonly activePollsMax?: number;
  /**
   * Pause between two checks, in milliseconds.
   * @defaultValue {@link TABLE_ACTIVE_POLL_INTERVAL_MS}
   */
  readonly activePollIntervalMs?: number;
}

/**
 * What {@link createTokenTable} did.
 *
 * @example
 * ```ts
 * const { created } = await createTokenTable({ client, tableName: 'baton' });
 * console.log(created ? 'table created' : 'table already there');
 * ```
 */
export interface CreateTokenTableResult {
  /** `true` if this call created the table, `false` if it already existed. */
  readonly created: boolean;
  readonly tableName: string;
  readonly partitionKey: string;
}

/**
 * Creates the token table (on-demand billing, one string partition key, no sort key) and waits
 * until it is `ACTIVE`. Idempotent: an existing table with the right key schema is accepted; one
 * with another key schema is refused with `StoreMisconfiguredError`. The store itself never
 * creates tables, so that a typo in a table name fails loudly instead of creating a new table.
 *
 * @throws {@link StoreMisconfiguredError} for a conflicting table or refused permissions; {@link StoreUnavailableError} if the table does not become ACTIVE in time.
 * @example
 * ```ts
 * await createTokenTable({ client: new DynamoDBClient({}), tableName: 'baton' });
 * ```
 */
export async function createTokenTable(options: CreateTokenTableOptions): Promise<CreateTokenTableResult> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionsError('options', 'createTokenTable needs an options object: { client, tableName, partitionKey? }');
  }
  const { client, tableName } = options;
  assertClientOption(client);
  assertTableNameOption(tableName);
  const partitionKey = options.partitionKey ?? DEFAULT_PARTITION_KEY;
  assertPartitionKeyOption(partitionKey);
  const pollsMax = options.activePollsMax ?? TABLE_ACTIVE_POLLS_MAX;
  const pollIntervalMs = options.activePollIntervalMs ?? TABLE_ACTIVE_POLL_INTERVAL_MS;
  if (!Number.isSafeInteger(pollsMax) || pollsMax < 1) {
    throw new InvalidOptionsError('activePollsMax', `activePollsMax must be a positive integer (default ${TABLE_ACTIVE_POLLS_MAX})`);
  }
  if (!Number.isSafeInteger(pollIntervalMs) || pollIntervalMs < 0) {
    throw new InvalidOptionsError('activePollIntervalMs', `activePollIntervalMs must be a non-negative integer of milliseconds (default ${TABLE_ACTIVE_POLL_INTERVAL_MS})`);
  }
  const location = await resolveClientLocation(client);
  const context = { tableName, partitionKey, location };

  let created = true;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (errorName(error) !== 'ResourceInUseException') throw tableError(error, 'CreateTable', context);
    created = false;
  }

  for (let poll = 1; poll <= pollsMax; poll += 1) {
    const table = await describeTable(client, context);
    if (table !== undefined) {
      assertKeySchema(table, context);
      if (table.TableStatus === 'ACTIVE') return { created, tableName, partitionKey };
    }
    // `undefined`: just created, and DescribeTable may not see it yet (it is eventually consistent).
    if (poll < pollsMax) await sleep(pollIntervalMs);
  }
  throw new StoreUnavailableError(
    `DynamoDB table ${JSON.stringify(tableName)} at ${location.text} did not become ACTIVE after ${pollsMax} checks ${pollIntervalMs} ms apart; ` +
      'call createTokenTable again later (it accepts the existing table)',
  );
}

interface TableContext {
  readonly tableName: string;
  readonly partitionKey: string;
  readonly location: ClientLocation;
}

async function describeTable(client: DynamoDBClient, context: TableContext): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: context.tableName }))).Table;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw tableError(error, 'DescribeTable', context);
  }
}

function assertKeySchema(table: TableDescription, context: TableContext): void {
  const keys = table.KeySchema ?? [];
  const hashKey = keys.find((key) => key.KeyType === 'HASH')?.AttributeName;
  const hashType = table.AttributeDefinitions?.find((definition) => definition.AttributeName === hashKey)?.AttributeType;
  if (keys.length === 1 && hashKey === context.partitionKey && hashType === 'S') return;
  const found = keys.map((key) => {
    const type = table.AttributeDefinitions?.find((definition) => definition.AttributeName === key.AttributeName)?.AttributeType ?? '?';
    return `${key.KeyType ?? '?'} ${JSON.stringify(key.AttributeName)} (${type})`;
  });
  const hint =
    keys.length === 1 && hashType === 'S' && hashKey !== undefined
      ? `pass partitionKey: ${JSON.stringify(hashKey)} to use it`
      : 'choose another table name';
  throw new StoreMisconfiguredError(
    `DynamoDB table ${JSON.stringify(context.tableName)} at ${context.location.text} already exists with key schema [${found.join(', ')}], ` +
      `but Baton needs a single string partition key named ${JSON.stringify(context.partitionKey)} and no sort key: ${hint}`,
  );
}

function tableError(error: unknown, action: DynamoDBAction, context: TableContext): Error {
  return (
    misconfigurationError(error, { action, ...context }) ??
    new StoreUnavailableError(
      `dynamodb:${action} on table ${JSON.stringify(context.tableName)} at ${context.location.text} failed (${errorLabel(error)}); try again later`,
      { cause: error },
    )
  );
}
