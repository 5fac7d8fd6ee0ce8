import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RECORD_FIELDS, RECORD_SCHEMA_VERSION, STRING_FIELDS } from '../machine/record.js';
import type { RecordField, TokenRecord, WriteCondition, WriteOutcome, WriteRequest } from '../machine/record.js';
import { InvalidOptionsError, StoreMisconfiguredError, StoreUnavailableError, invariant } from './errors.js';
import { RECORD_ATTRIBUTE_NAMES, decodeRecord, fromAttributeMap, toAttributeValue, validateWriteRequest } from './record-codec.js';
import type { ReadOptions, TokenStore } from './store.js';

/*
 * The low-level client (not the document client) is used on purpose: the item carried by a
 * ConditionalCheckFailedException is never unmarshalled by the document client, and its number
 * handling throws a generic error on out-of-range numbers, which must instead surface as a
 * RecordInvalidError naming the attribute.
 */

/**
 * Partition-key attribute name used when `partitionKey` is not given.
 *
 * @example
 * ```ts
 * createTableCommandLine('baton', DEFAULT_PARTITION_KEY, location);
 * ```
 */
export const DEFAULT_PARTITION_KEY = 'pk';

/** DynamoDB's limits on names and key values, checked at construction. */
const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
const ATTRIBUTE_NAME_LENGTH_MAX_BYTES = 255;
const PARTITION_KEY_VALUE_LENGTH_MAX_BYTES = 2048;

/** Error names that mean the credentials were refused or lack a permission. */
const ACCESS_DENIED_ERROR_NAMES: ReadonlySet<string> = new Set(['AccessDeniedException', 'AccessDenied']);
const CREDENTIALS_ERROR_NAMES: ReadonlySet<string> = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'InvalidClientTokenId',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

/**
 * The DynamoDB actions the store and the table helper perform, as IAM names them (without `dynamodb:`).
 *
 * @example
 * ```ts
 * const action: DynamoDBAction = 'UpdateItem';
 * ```
 */
export type DynamoDBAction = 'GetItem' | 'UpdateItem' | 'CreateTable' | 'DescribeTable';

/**
 * Options of {@link DynamoDBTokenStore}.
 *
 * @example
 * ```ts
 * const options: DynamoDBTokenStoreOptions = { client: new DynamoDBClient({}), tableName: 'baton', key: 'chat-api', partitionKey: 'tokenName' };
 * ```
 */
export interface DynamoDBTokenStoreOptions {
  /** A client from `@aws-sdk/client-dynamodb`, configured with the region (and endpoint) of the table. */
  readonly client: DynamoDBClient;
  /** The table holding the item; create it with `createTokenTable` or the command in the docs. */
  readonly tableName: string;
  /** Partition-key value of the item. One table can hold many tokens, one per key. */
  readonly key: string;
  /**
   * Name of the table's partition-key attribute (a string hash key, no sort key).
   * @defaultValue {@link DEFAULT_PARTITION_KEY} (`'pk'`)
   */
  readonly partitionKey?: string;
}

/**
 * Where a client sends its requests, for messages. Never holds credentials.
 *
 * @example
 * ```ts
 * const location: ClientLocation = { text: 'region eu-west-1', cliFlags: '--region eu-west-1' };
 * ```
 */
export interface ClientLocation {
  /** e.g. `region eu-west-1` or `endpoint http://127.0.0.1:8000`. */
  readonly text: string;
  /** The matching AWS CLI flags, e.g. `--region eu-west-1`. */
  readonly cliFlags: string;
}

/**
 * A {@link TokenStore} over one item of a DynamoDB table. Reads are `GetItem`s; every write is
 * one conditional `UpdateItem`. A failed condition is returned as an outcome carrying the item
 * as it stood (taken from the exception where the engine returns it, otherwise read back with a
 * consistent read), so the store behaves the same on DynamoDB, DynamoDB Local and dynalite.
 * The store never creates the table (see `createTokenTable`).
 *
 * @example
 * ```ts
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * const store = new DynamoDBTokenStore({ client: new DynamoDBClient({}), tableName: 'baton', key: 'chat-api' });
 * const record = await store.read({ consistent: true });
 * ```
 */
export class DynamoDBTokenStore implements TokenStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #key: string;
  readonly #partitionKey: string;
  readonly #location: Promise<ClientLocation>;
  #locationText: string | undefined;

  constructor(options: DynamoDBTokenStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('options', 'DynamoDBTokenStore needs an options object: { client, tableName, key, partitionKey? }');
    }
    assertClientOption(options.client);
    assertTableNameOption(options.tableName);
    assertKeyOption(options.key);
    const partitionKey = options.partitionKey ?? DEFAULT_PARTITION_KEY;
    assertPartitionKeyOption(partitionKey);
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#key = options.key;
    this.#partitionKey = partitionKey;
    this.#location = resolveClientLocation(options.client);
    void this.#location.then((location) => (this.#locationText = location.text));
  }

  /**
   * `GetItem` with `ConsistentRead: options.consistent`.
   *
   * @throws {@link RecordInvalidError} for an item Baton cannot read; {@link StoreMisconfiguredError}; {@link StoreUnavailableError}.
   * @example
   * ```ts
   * const record = await store.read({ consistent: true });
   * ```
   */
  async read(options: ReadOptions): Promise<TokenRecord | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      const output = await this.#client.send(
        new GetItemCommand({ TableName: this.#tableName, Key: this.#keyAttributes(), ConsistentRead: options.consistent }),
      );
      item = output.Item;
    } catch (error) {
      const misconfigured = await this.#misconfigured(error, 'GetItem');
      throw misconfigured ?? new StoreUnavailableError(`could not read ${await this.#describeResolved()} (${errorLabel(error)}); try again later`, { cause: error });
    }
    return item === undefined ? undefined : this.#decode(item);
  }

  /**
   * One conditional `UpdateItem`. A failed condition resolves to `{ applied: false, current }`.
   *
   * @throws {@link StoreUnavailableError} when the outcome is unknown (the write may or may not have been applied).
   * @example
   * ```ts
   * const outcome = await store.write({ intent: 'claim', condition: { exists: true, generation: 4, leaseId: null }, set: { leaseId: 'l-1' }, remove: [] });
   * ```
   */
  async write(request: WriteRequest): Promise<WriteOutcome> {
    validateWriteRequest(request);
    const expression = buildUpdate(request, this.#partitionKey);
    let attributes: Record<string, AttributeValue> | undefined;
    try {
      const output = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: this.#keyAttributes(),
          UpdateExpression: expression.update,
          ConditionExpression: expression.condition,
          ExpressionAttributeNames: expression.names,
          ExpressionAttributeValues: expression.values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      attributes = output.Attributes;
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return this.#conditionFailed(error, request);
      const misconfigured = await this.#misconfigured(error, 'UpdateItem');
      throw (
        misconfigured ??
        new StoreUnavailableError(
          `the ${request.intent} write to ${await this.#describeResolved()} failed (${errorLabel(error)}) and may or may not have been applied; ` +
            'read the item back to find out',
          { cause: error },
        )
      );
    }
    invariant(attributes !== undefined, 'UpdateItem with ReturnValues ALL_NEW returns the new item');
    return { applied: true, record: this.#decode(attributes) };
  }

  /**
   * Where the item lives, e.g. `DynamoDB table "baton" (pk="chat-api") at region eu-west-1`.
   * Never contains credentials.
   *
   * @example
   * ```ts
   * console.log(`token store: ${store.describe()}`);
   * ```
   */
  describe(): string {
    return this.#describeAt(this.#locationText ?? "the client's configured region");
  }

  /** The engine returns the old item with the exception (DynamoDB, DynamoDB Local) or not (dynalite). */
  async #conditionFailed(error: unknown, request: WriteRequest): Promise<WriteOutcome> {
    const oldItem = (error as { Item?: Record<string, AttributeValue> }).Item;
    if (oldItem !== undefined) return { applied: false, current: this.#decode(oldItem) };
    try {
      return { applied: false, current: await this.read({ consistent: true }) };
    } catch (readError) {
      if (!(readError instanceof StoreUnavailableError)) throw readError;
      throw new StoreUnavailableError(
        `the ${request.intent} write to ${await this.#describeResolved()} was not applied (its condition failed), but reading the item back failed; try again later`,
        { cause: readError },
      );
    }
  }

  #decode(item: Record<string, AttributeValue>): TokenRecord {
    return decodeRecord(fromAttributeMap(item), { source: this.describe(), partitionKey: this.#partitionKey });
  }

  #keyAttributes(): Record<string, AttributeValue> {
    return { [this.#partitionKey]: { S: this.#key } };
  }

  async #misconfigured(error: unknown, action: DynamoDBAction): Promise<StoreMisconfiguredError | undefined> {
    return misconfigurationError(error, {
      action,
      tableName: this.#tableName,
      partitionKey: this.#partitionKey,
      location: await this.#location,
    });
  }

  async #describeResolved(): Promise<string> {
    return this.#describeAt((await this.#location).text);
  }

  #describeAt(where: string): string {
    return `DynamoDB table ${JSON.stringify(this.#tableName)} (${this.#partitionKey}=${JSON.stringify(this.#key)}) at ${where}`;
  }
}

/** An UpdateItem's expressions, with only the placeholders they use (DynamoDB rejects unused ones). */
interface UpdateExpressions {
  readonly update: string;
  readonly condition: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

/**
 * Translates a {@link WriteRequest} into one UpdateItem with exactly `applyWrite`'s meaning:
 * remove, then set (a field both removed and set ends up set), `generation` defaults to 0 on
 * creation, `revision` + 1, `schemaVersion` = 1.
 */
function buildUpdate(request: WriteRequest, partitionKey: string): UpdateExpressions {
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const name = (attribute: string, placeholder = attribute): string => {
    names[`#${placeholder}`] = attribute;
    return `#${placeholder}`;
  };
  const value = (placeholder: string, attributeValue: AttributeValue): string => {
    values[`:${placeholder}`] = attributeValue;
    return `:${placeholder}`;
  };

  const assignments: string[] = [];
  for (const field of RECORD_FIELDS) {
    const fieldValue = request.set[field];
    if (fieldValue !== undefined) assignments.push(`${name(field)} = ${value(`set_${field}`, toAttributeValue(fieldValue))}`);
  }
  if (request.set.generation === undefined) {
    assignments.push(`${name('generation')} = if_not_exists(${name('generation')}, ${value('zero', { N: '0' })})`);
  }
  assignments.push(`${name('revision')} = if_not_exists(${name('revision')}, ${value('zero', { N: '0' })}) + ${value('one', { N: '1' })}`);
  assignments.push(`${name('schemaVersion')} = ${value('schemaVersion', { N: String(RECORD_SCHEMA_VERSION) })}`);
  const removed = RECORD_FIELDS.filter((field) => request.remove.includes(field) && request.set[field] === undefined);
  const update = `SET ${assignments.join(', ')}${removed.length > 0 ? ` REMOVE ${removed.map((field) => name(field)).join(', ')}` : ''}`;

  const condition = buildCondition(request.condition, { name, value, partitionKey });
  return { update, condition, names, values };
}

interface ConditionBuilder {
  readonly name: (attribute: string, placeholder?: string) => string;
  readonly value: (placeholder: string, attributeValue: AttributeValue) => string;
  readonly partitionKey: string;
}

/** The condition as named sub-conditions, all of which must hold; mirrors `conditionHolds`. */
function buildCondition(condition: WriteCondition, { name, value, partitionKey }: ConditionBuilder): string {
  const itemAbsent = `attribute_not_exists(${name(partitionKey, 'pk')})`;
  if (!condition.exists) return itemAbsent;

  const parts: Record<string, string> = {
    itemExists: `attribute_exists(${name(partitionKey, 'pk')})`,
    // An item from a newer Baton, or of another shape, fails here and is therefore never written.
    sameSchemaVersion: `${name('schemaVersion')} = ${value('schemaVersion', { N: String(RECORD_SCHEMA_VERSION) })}`,
    // A version-1 item whose attributes have the wrong types is refused too, even when the rest
    // of the condition does not look at them (and `revision + 1` would fail on a string).
    attributeTypes: attributeTypeGuard(name, value),
  };
  if (condition.generation !== undefined) {
    parts['generationMatches'] = `${name('generation')} = ${value('cond_generation', toAttributeValue(condition.generation))}`;
  }
  if (condition.revision !== undefined) {
    parts['revisionMatches'] = `${name('revision')} = ${value('cond_revision', toAttributeValue(condition.revision))}`;
  }
  if (condition.leaseId === null) parts['noLease'] = `attribute_not_exists(${name('leaseId')})`;
  else if (condition.leaseId !== undefined) parts['leaseMatches'] = `${name('leaseId')} = ${value('cond_leaseId', toAttributeValue(condition.leaseId))}`;
  return Object.values(parts).join(' AND ');
}

function attributeTypeGuard(name: ConditionBuilder['name'], value: ConditionBuilder['value']): string {
  const numberType = value('type_N', { S: 'N' });
  const stringType = value('type_S', { S: 'S' });
  const guards = [`attribute_type(${name('revision')}, ${numberType})`, `attribute_type(${name('generation')}, ${numberType})`];
  for (const field of RECORD_FIELDS) {
    if (field === 'generation') continue;
    const type = (STRING_FIELDS as readonly RecordField[]).includes(field) ? stringType : numberType;
    guards.push(`(attribute_not_exists(${name(field)}) OR attribute_type(${name(field)}, ${type}))`);
  }
  return guards.join(' AND ');
}

/**
 * The `StoreMisconfiguredError` an AWS error stands for (missing table, refused access, wrong
 * key schema), or `undefined` if the error is not a configuration problem.
 *
 * @example
 * ```ts
 * const misconfigured = misconfigurationError(error, { action: 'GetItem', tableName: 'baton', partitionKey: 'pk', location });
 * if (misconfigured) throw misconfigured;
 * ```
 */
export function misconfigurationError(
  error: unknown,
  context: { readonly action: DynamoDBAction; readonly tableName: string; readonly partitionKey: string; readonly location: ClientLocation },
): StoreMisconfiguredError | undefined {
  const name = errorName(error);
  const table = `DynamoDB table ${JSON.stringify(context.tableName)}`;
  const at = context.location.text;
  if (name === 'ResourceNotFoundException') {
    return new StoreMisconfiguredError(
      `${table} was not found at ${at}. Create it with createTokenTable({ client, tableName: ${JSON.stringify(context.tableName)}, ` +
        `partitionKey: ${JSON.stringify(context.partitionKey)} }) or with: ${createTableCommandLine(context.tableName, context.partitionKey, context.location)}. ` +
        "If the table exists, check that the client's region and account are the ones that hold it.",
      { cause: error },
    );
  }
  if (name !== undefined && ACCESS_DENIED_ERROR_NAMES.has(name)) {
    return new StoreMisconfiguredError(
      `access to ${table} at ${at} was refused (${name}): the credentials in use need the IAM permission dynamodb:${context.action} on this table`,
      { cause: error },
    );
  }
  if (name !== undefined && CREDENTIALS_ERROR_NAMES.has(name)) {
    return new StoreMisconfiguredError(
      `the AWS credentials were not accepted when calling dynamodb:${context.action} on ${table} at ${at} (${name}): ` +
        'check which credentials and region the DynamoDB client uses (and that they have not expired)',
      { cause: error },
    );
  }
  if (name === 'ValidationException') {
    const message = error instanceof Error ? error.message : '';
    if (/key/i.test(message) && /schema|match|not given a value/i.test(message)) {
      return new StoreMisconfiguredError(
        `${table} at ${at} does not have the key schema Baton expects: a string partition key named ${JSON.stringify(context.partitionKey)} and no sort key. ` +
          'Set partitionKey to the name of the table\'s partition-key attribute, or use a table made by createTokenTable().',
        { cause: error },
      );
    }
    // Validation failures are deterministic: retrying cannot help, so this is not "unavailable".
    return new StoreMisconfiguredError(
      `${table} at ${at} rejected dynamodb:${context.action} as invalid (ValidationException); the engine may not support the expressions Baton uses. ` +
        'Use DynamoDB, DynamoDB Local or dynalite, and report this if it happens against DynamoDB itself.',
      { cause: error },
    );
  }
  return undefined;
}

/**
 * The AWS CLI command that creates a table the store can use.
 *
 * @example
 * ```ts
 * createTableCommandLine('baton', 'pk', { text: 'region eu-west-1', cliFlags: '--region eu-west-1' });
 * // 'aws dynamodb create-table --table-name baton --attribute-definitions AttributeName=pk,AttributeType=S --key-schema AttributeName=pk,KeyType=HASH --billing-mode PAY_PER_REQUEST --region eu-west-1'
 * ```
 */
export function createTableCommandLine(tableName: string, partitionKey: string, location: ClientLocation): string {
  return (
    `aws dynamodb create-table --table-name ${tableName} --attribute-definitions AttributeName=${partitionKey},AttributeType=S ` +
    `--key-schema AttributeName=${partitionKey},KeyType=HASH --billing-mode PAY_PER_REQUEST ${location.cliFlags}`
  ).trimEnd();
}

/**
 * Reads the endpoint (if one was configured) and region from a client's resolved config.
 * Never rejects; never includes credentials (user info in an endpoint URL is not kept).
 *
 * @example
 * ```ts
 * (await resolveClientLocation(new DynamoDBClient({ region: 'eu-west-1' }))).text; // 'region eu-west-1'
 * ```
 */
export async function resolveClientLocation(client: DynamoDBClient): Promise<ClientLocation> {
  const config = (client as { config?: Partial<Record<'region' | 'endpoint', unknown>> }).config;
  const region = await callProvider(config?.region);
  const endpoint = (await callProvider(config?.endpoint)) as { protocol?: unknown; hostname?: unknown; port?: unknown; path?: unknown } | undefined;
  const regionText = typeof region === 'string' && region.length > 0 ? region : undefined;
  if (endpoint !== undefined && typeof endpoint === 'object' && typeof endpoint.hostname === 'string') {
    const port = typeof endpoint.port === 'number' ? `:${endpoint.port}` : '';
    const path = typeof endpoint.path === 'string' && endpoint.path !== '/' ? endpoint.path : '';
    const url = `${typeof endpoint.protocol === 'string' ? endpoint.protocol : 'https:'}//${endpoint.hostname}${port}${path}`;
    return { text: `endpoint ${url}`, cliFlags: `--endpoint-url ${url}${regionText === undefined ? '' : ` --region ${regionText}`}` };
  }
  if (regionText !== undefined) return { text: `region ${regionText}`, cliFlags: `--region ${regionText}` };
  return { text: "the client's default region", cliFlags: '' };
}

/**
 * Throws `InvalidOptionsError` unless `client` looks like a `DynamoDBClient`.
 *
 * @example
 * ```ts
 * assertClientOption(new DynamoDBClient({}));
 * ```
 */
export function assertClientOption(client: unknown): asserts client is DynamoDBClient {
  if (typeof client !== 'object' || client === null || typeof (client as { send?: unknown }).send !== 'function') {
    throw new InvalidOptionsError('client', 'client must be a DynamoDBClient from @aws-sdk/client-dynamodb, e.g. new DynamoDBClient({ region: "eu-west-1" })');
  }
}

/**
 * Throws `InvalidOptionsError` unless `tableName` is a valid DynamoDB table name.
 *
 * @example
 * ```ts
 * assertTableNameOption('baton-tokens');
 * ```
 */
export function assertTableNameOption(tableName: unknown): asserts tableName is string {
  if (typeof tableName !== 'string' || !TABLE_NAME_PATTERN.test(tableName)) {
    throw new InvalidOptionsError('tableName', 'tableName must be a DynamoDB table name: 3 to 255 characters among a-z, A-Z, 0-9, "_", "-" and "."');
  }
}

/**
 * Throws `InvalidOptionsError` unless `partitionKey` can name the key attribute.
 *
 * @example
 * ```ts
 * assertPartitionKeyOption('pk');
 * ```
 */
export function assertPartitionKeyOption(partitionKey: unknown): asserts partitionKey is string {
  if (typeof partitionKey !== 'string' || partitionKey.length === 0 || Buffer.byteLength(partitionKey) > ATTRIBUTE_NAME_LENGTH_MAX_BYTES) {
    throw new InvalidOptionsError('partitionKey', `partitionKey must be the name of the table's partition-key attribute: 1 to ${ATTRIBUTE_NAME_LENGTH_MAX_BYTES} bytes (default "${DEFAULT_PARTITION_KEY}")`);
  }
  if (RECORD_ATTRIBUTE_NAMES.includes(partitionKey)) {
    throw new InvalidOptionsError('partitionKey', `partitionKey must not be one of the attribute names Baton stores (${RECORD_ATTRIBUTE_NAMES.join(', ')}); "${partitionKey}" is one`);
  }
}

function assertKeyOption(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > PARTITION_KEY_VALUE_LENGTH_MAX_BYTES) {
    throw new InvalidOptionsError('key', `key must be the partition-key value of the token's item: a non-empty string of at most ${PARTITION_KEY_VALUE_LENGTH_MAX_BYTES} bytes, e.g. "chat-api"`);
  }
}

async function callProvider(provider: unknown): Promise<unknown> {
  if (typeof provider !== 'function') return provider;
  try {
    return await (provider as () => unknown)();
  } catch {
    return undefined;
  }
}

/**
 * The error's name (AWS SDK errors carry the service error code there).
 *
 * @example
 * ```ts
 * errorName(new Error('x')); // 'Error'
 * ```
 */
export function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** The error's name and HTTP status, without its message (which may quote request data). */
/**
 * A short label for an SDK or network error: name, code and HTTP status, plus a hint when the
 * endpoint could not be reached at all. Never includes credentials.
 *
 * @example
 * ```ts
 * errorLabel(error); // 'Error, ECONNREFUSED (nothing listens at the endpoint: is DynamoDB running there?)'
 * ```
 */
export function errorLabel(error: unknown): string {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  const name = errorName(error) ?? typeof error;
  const code = (error as { code?: unknown } | undefined)?.code ?? (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const timedOut = name === 'TimeoutError';
  const unreachable = !timedOut && typeof code === 'string' && ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT'].includes(code);
  const hint = timedOut
    ? " (no answer within the client's requestTimeout: DynamoDB is slow or throttled, or the timeout is too short)"
    : unreachable
      ? ' (the endpoint could not be reached: is DynamoDB running there, and is the URL right?)'
      : '';
  return [name, typeof code === 'string' ? code : undefined, typeof status === 'number' ? `HTTP ${status}` : undefined].filter(Boolean).join(', ') + hint;
}
