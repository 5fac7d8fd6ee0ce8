import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { DynamoDBTokenStore } from '../runtime/dynamodb-store.js';
import { createTokenTable } from '../runtime/table.js';
import type { TokenRecord } from '../machine/record.js';

/** Region the demo tells the SDK (local emulators ignore it). */
export const DEMO_REGION = 'us-east-1';
/** Placeholder credentials for local endpoints (the SDK insists on some). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
/** Table the demo uses. */
export const DEMO_TABLE = 'baton-demo';
/** Longest wait for dynalite to close, ms. */
export const DYNALITE_CLOSE_MS_MAX = 5_000;

/** A DynamoDB endpoint with the demo's table on it. */
export interface DemoDynamo {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** `embedded dynalite` or `external`. */
  readonly kind: 'embedded dynalite' | 'external';
  readonly tableName: string;
  /** Partition key value of this run's item (unique per run, so reruns on an external endpoint start clean). */
  readonly itemKey: string;
  /** Reads the item (strongly consistent) the way the fleet does. */
  readItem(): Promise<TokenRecord | undefined>;
  /** Stops the embedded emulator (nothing for an external endpoint). */
  close(): Promise<void>;
}

/**
 * Starts embedded dynalite on 127.0.0.1 (or uses `external`), and creates the table with
 * `createTokenTable` (the store never creates tables itself).
 *
 * @example
 * ```ts
 * const dynamo = await startDynamo({ external: undefined, itemKey: 'demo-1' });
 * ```
 */
export async function startDynamo(options: { readonly external: string | undefined; readonly itemKey: string }): Promise<DemoDynamo> {
  let server: Server | undefined;
  let endpoint: string;
  if (options.external === undefined) {
    const started = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    server = started;
    await new Promise<void>((resolve, reject) => {
      started.once('error', reject);
      started.listen(0, '127.0.0.1', () => resolve());
    });
    endpoint = `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
  } else {
    endpoint = options.external.replace(/\/+$/, '');
  }
  const client = new DynamoDBClient({
    region: DEMO_REGION,
    endpoint,
    ...(process.env['AWS_ACCESS_KEY_ID'] === undefined ? { credentials: LOCAL_CREDENTIALS } : {}),
  });
  try {
    await createTokenTable({ client, tableName: DEMO_TABLE, activePollIntervalMs: 200 });
  } catch (error) {
    client.destroy();
    await closeServer(server);
    const why = error instanceof Error ? error.message : String(error);
    const hint = server === undefined ? ` Is a DynamoDB endpoint (e.g. DynamoDB Local) listening at ${endpoint}?` : '';
    throw new Error(`could not create the table ${DEMO_TABLE} at ${endpoint}: ${why}.${hint}`, { cause: error });
  }
  const store = new DynamoDBTokenStore({ client, tableName: DEMO_TABLE, key: options.itemKey });
  return {
    endpoint,
    kind: server === undefined ? 'external' : 'embedded dynalite',
    tableName: DEMO_TABLE,
    itemKey: options.itemKey,
    readItem: () => store.read({ consistent: true }),
    close: async () => {
      client.destroy();
      await closeServer(server);
    },
  };
}

async function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return;
  server.closeAllConnections();
  await Promise.race([
    new Promise<void>((resolve) => server.close(() => resolve())),
    new Promise<void>((resolve) => setTimeout(resolve, DYNALITE_CLOSE_MS_MAX).unref()),
  ]);
}
