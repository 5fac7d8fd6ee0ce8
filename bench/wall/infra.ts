/**
 * The shared services of a wall-clock bench: embedded dynalite on a free port of 127.0.0.1 with
 * three tables (Baton's token table, the item table of naive / textbook / lock-client, and the
 * lock table of `dynamodb-lock-client`). Each run keeps its data under its own keys, so the
 * tables are created once per bench.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEMO_REGION, LOCAL_CREDENTIALS, startDynamo } from '../../src/demo/dynamo.js';
import { createTokenTable } from '../../src/runtime/table.js';
import { ITEM_PARTITION_KEY } from './item-store.js';

/** Item table of the bench (string partition key `pk`). */
export const ITEM_TABLE = 'bench-items';
/** Lock table of `dynamodb-lock-client`, with a partition key of its own name. */
export const LOCK_TABLE = 'bench-locks';
/** Partition key of {@link LOCK_TABLE} (any name but the library's reserved ones). */
export const LOCK_PARTITION_KEY = 'lockId';
/** Pause between table-status checks while a table is created, ms (dynalite creates at once). */
const TABLE_POLL_MS = 50;

/** Where the tables live. */
export interface WallInfra {
  readonly endpoint: string;
  readonly region: string;
  readonly tokenTable: string;
  readonly itemTable: string;
  readonly lockTable: string;
  readonly lockPartitionKey: string;
  /** Stops dynalite. */
  close(): Promise<void>;
}

/**
 * Starts dynalite in this process and creates the tables.
 *
 * @example
 * ```ts
 * const infra = await startWallInfra();
 * await infra.close();
 * ```
 */
export async function startWallInfra(): Promise<WallInfra> {
  const dynamo = await startDynamo({ external: undefined, itemKey: 'bench' });
  const client = new DynamoDBClient({ region: DEMO_REGION, endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS });
  try {
    await createTokenTable({ client, tableName: ITEM_TABLE, partitionKey: ITEM_PARTITION_KEY, activePollIntervalMs: TABLE_POLL_MS });
    await createTokenTable({ client, tableName: LOCK_TABLE, partitionKey: LOCK_PARTITION_KEY, activePollIntervalMs: TABLE_POLL_MS });
  } catch (error) {
    await dynamo.close();
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint: dynamo.endpoint,
    region: DEMO_REGION,
    tokenTable: dynamo.tableName,
    itemTable: ITEM_TABLE,
    lockTable: LOCK_TABLE,
    lockPartitionKey: LOCK_PARTITION_KEY,
    close: () => dynamo.close(),
  };
}
