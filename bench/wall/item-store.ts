/**
 * {@link BenchItemStore} on a real DynamoDB endpoint (dynalite in the bench) through
 * `@aws-sdk/lib-dynamodb`: consistent `GetItem`, conditional `PutItem` / `DeleteItem`. Every call
 * is counted once, as the virtual-time store counts it, whatever the SDK does underneath.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { BenchItem, BenchItemStore, PutCondition } from '../core/strategy.js';

/** Partition-key attribute of the bench's item table. */
export const ITEM_PARTITION_KEY = 'pk';

/** Options of {@link DynamoDBItemStore}. */
export interface DynamoDBItemStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Prepended to every key (`namespace#key`), so runs sharing the table never meet. */
  readonly namespace: string;
  /** Called once per DynamoDB call, before it is sent (a call from a process killed mid-call still counts). */
  readonly count: (kind: 'read' | 'write') => void;
}

/** The DynamoDB parts of a condition: expression, names and values. */
export interface ConditionParts {
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, string | number | boolean>;
}

/**
 * Builds a `ConditionExpression` from a {@link PutCondition}: `equals` becomes `#aN = :vN`, `null`
 * becomes `attribute_not_exists(#aN)`, joined with `AND`. Placeholders are numbered, so any
 * attribute name is safe.
 *
 * @example
 * ```ts
 * conditionParts({ token: 't1', lock: null });
 * // { ConditionExpression: '#a0 = :v0 AND attribute_not_exists(#a1)', ... }
 * ```
 */
export function conditionParts(condition: PutCondition): ConditionParts | undefined {
  const clauses: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, string | number | boolean> = {};
  Object.entries(condition).forEach(([attribute, value], index) => {
    names[`#a${index}`] = attribute;
    if (value === null) {
      clauses.push(`attribute_not_exists(#a${index})`);
    } else {
      values[`:v${index}`] = value;
      clauses.push(`#a${index} = :v${index}`);
    }
  });
  if (clauses.length === 0) return undefined;
  return {
    ConditionExpression: clauses.join(' AND '),
    ExpressionAttributeNames: names,
    ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: values }),
  };
}

/**
 * A {@link BenchItemStore} over one DynamoDB table with a string partition key `pk`.
 *
 * @example
 * ```ts
 * const store = new DynamoDBItemStore({ client, tableName: 'bench-items', namespace: 'run-1', count: () => {} });
 * await store.put('token', { token: 't1' }, { token: null });
 * ```
 */
export class DynamoDBItemStore implements BenchItemStore {
  readonly #documents: DynamoDBDocumentClient;
  readonly #options: DynamoDBItemStoreOptions;

  constructor(options: DynamoDBItemStoreOptions) {
    this.#options = options;
    this.#documents = DynamoDBDocumentClient.from(options.client);
  }

  async get(key: string): Promise<BenchItem | undefined> {
    this.#options.count('read');
    const answer = await this.#documents.send(new GetCommand({ TableName: this.#options.tableName, Key: this.#key(key), ConsistentRead: true }));
    if (answer.Item === undefined) return undefined;
    const { [ITEM_PARTITION_KEY]: _partition, ...item } = answer.Item;
    return item as BenchItem;
  }

  async put(key: string, item: BenchItem, condition?: PutCondition): Promise<boolean> {
    if (ITEM_PARTITION_KEY in item) throw new RangeError(`DynamoDBItemStore: items must not carry the partition key attribute ${ITEM_PARTITION_KEY}`);
    this.#options.count('write');
    const parts = condition === undefined ? undefined : conditionParts(condition);
    return this.#conditional(() => this.#documents.send(new PutCommand({ TableName: this.#options.tableName, Item: { ...item, ...this.#key(key) }, ...parts })));
  }

  async delete(key: string, condition?: PutCondition): Promise<boolean> {
    this.#options.count('write');
    const parts = condition === undefined ? undefined : conditionParts(condition);
    return this.#conditional(() => this.#documents.send(new DeleteCommand({ TableName: this.#options.tableName, Key: this.#key(key), ...parts })));
  }

  #key(key: string): Record<string, string> {
    return { [ITEM_PARTITION_KEY]: `${this.#options.namespace}#${key}` };
  }

  /** A failed condition is an answer (`false`), not an error. */
  async #conditional(send: () => Promise<unknown>): Promise<boolean> {
    try {
      await send();
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || (error as { name?: unknown }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
