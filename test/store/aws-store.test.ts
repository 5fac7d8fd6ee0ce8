import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { describe, it } from 'vitest';
import { DynamoDBTokenStore } from '../../src/runtime/dynamodb-store.js';
import { createTokenTable } from '../../src/runtime/table.js';
import { describeStoreContract } from './contract.js';
import { describeDynamoDBEngineChecks, useDynamoDBEngine } from './dynamodb-engine.js';

/**
 * The store contract (and the engine checks that need no tables of their own) against real
 * DynamoDB, only when asked to. It uses two existing tables, or creates them when told to:
 *
 * - `BATON_AWS_TABLE`: a table with string partition key `pk` (required);
 *   `<BATON_AWS_TABLE>-tokenName`, with partition key `tokenName`, serves the custom-key test.
 * - `BATON_AWS_CREATE_TABLES=1`: create those tables (on-demand) if they are missing. They are
 *   left in place for the next run; the log says how to delete them.
 * - `BATON_AWS_REGION` (else `AWS_REGION`), `BATON_AWS_ENDPOINT` (optional).
 * - Credentials: `BATON_AWS_ACCESS_KEY_ID` + `BATON_AWS_SECRET_ACCESS_KEY` (+ `BATON_AWS_SESSION_TOKEN`),
 *   or `AWS_PROFILE`, or the usual `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, web identity or
 *   container credentials.
 *
 * vitest.config.ts sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION for every test
 * (placeholders for the local engines), replacing whatever the shell had: hence the BATON_AWS_*
 * variants. While this file runs, the placeholders are removed from the environment so that the
 * SDK's default chain can find a profile or role.
 *
 * Every test uses fresh keys (`baton-test-<uuid>-…`) and deletes its items afterwards; tables
 * are never deleted.
 */

/** The values vitest.config.ts gives AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: not credentials. */
const PLACEHOLDER_CREDENTIAL = 'local';
const CUSTOM_PARTITION_KEY = 'tokenName';
/** Real DynamoDB is slower than a local engine: fewer differential runs keep the test under the timeout. */
const AWS_DIFFERENTIAL_RUNS = 10;
/** Creating two on-demand tables and waiting until they are ACTIVE. */
const AWS_START_TIMEOUT_MS = 180_000;
const CREDENTIAL_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

const SKIP_MESSAGE =
  'AWS conformance tests skipped: set BATON_AWS_TABLE=<table with string partition key "pk"> and credentials ' +
  '(AWS_PROFILE=<profile>, or BATON_AWS_ACCESS_KEY_ID + BATON_AWS_SECRET_ACCESS_KEY [+ BATON_AWS_SESSION_TOKEN]); ' +
  'optionally BATON_AWS_REGION (default: AWS_REGION, which vitest.config.ts sets to us-east-1), BATON_AWS_ENDPOINT, ' +
  `and BATON_AWS_CREATE_TABLES=1 to create BATON_AWS_TABLE and BATON_AWS_TABLE-${CUSTOM_PARTITION_KEY} if they are missing`;

interface AwsSettings {
  readonly table: string;
  readonly createTables: boolean;
  readonly clientConfig: DynamoDBClientConfig & { readonly region: string; readonly endpoint?: string };
}

function readSettings(env: NodeJS.ProcessEnv): AwsSettings | undefined {
  const table = env['BATON_AWS_TABLE'];
  if (table === undefined || table === '' || !hasCredentials(env)) return undefined;
  const region = env['BATON_AWS_REGION'] ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1';
  const endpoint = env['BATON_AWS_ENDPOINT'];
  const accessKeyId = env['BATON_AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['BATON_AWS_SECRET_ACCESS_KEY'];
  const sessionToken = env['BATON_AWS_SESSION_TOKEN'];
  const credentials =
    accessKeyId !== undefined && secretAccessKey !== undefined
      ? { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) }
      : undefined;
  return {
    table,
    createTables: env['BATON_AWS_CREATE_TABLES'] === '1' || env['BATON_AWS_CREATE_TABLES'] === 'true',
    clientConfig: { region, ...(endpoint === undefined || endpoint === '' ? {} : { endpoint }), ...(credentials === undefined ? {} : { credentials }) },
  };
}

function hasCredentials(env: NodeJS.ProcessEnv): boolean {
  const explicit = (name: string): boolean => (env[name] ?? '') !== '';
  const real = (name: string): boolean => explicit(name) && env[name] !== PLACEHOLDER_CREDENTIAL;
  return (
    (explicit('BATON_AWS_ACCESS_KEY_ID') && explicit('BATON_AWS_SECRET_ACCESS_KEY')) ||
    (real('AWS_ACCESS_KEY_ID') && real('AWS_SECRET_ACCESS_KEY')) ||
    explicit('AWS_PROFILE') ||
    explicit('AWS_WEB_IDENTITY_TOKEN_FILE') ||
    explicit('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI') ||
    explicit('AWS_CONTAINER_CREDENTIALS_FULL_URI')
  );
}

/** Removes vitest's placeholder credentials from the environment; returns how to put them back. */
function hidePlaceholderCredentials(): () => void {
  const saved = CREDENTIAL_VARIABLES.map((name) => [name, process.env[name]] as const);
  if (saved.some(([, value]) => value !== PLACEHOLDER_CREDENTIAL)) return () => undefined;
  for (const [name] of saved) delete process.env[name];
  return () => {
    for (const [name, value] of saved) process.env[name] = value;
  };
}

function tableNameFor(settings: AwsSettings, partitionKey: string): string {
  return partitionKey === 'pk' ? settings.table : `${settings.table}-${partitionKey}`;
}

/** Checks that the table for `partitionKey` exists (one GetItem), or creates it when told to. */
async function prepareTable(client: DynamoDBClient, settings: AwsSettings, partitionKey: string): Promise<void> {
  const tableName = tableNameFor(settings, partitionKey);
  if (settings.createTables) {
    const { created } = await createTokenTable({ client, tableName, partitionKey });
    if (created) {
      const where = settings.clientConfig.endpoint === undefined ? '' : ` --endpoint-url ${settings.clientConfig.endpoint}`;
      console.log(`created DynamoDB table ${tableName}; delete it with: aws dynamodb delete-table --table-name ${tableName} --region ${settings.clientConfig.region}${where}`);
    }
    return;
  }
  // Fails with StoreMisconfiguredError naming the table and the command that creates it.
  await new DynamoDBTokenStore({ client, tableName, key: 'baton-test-probe', partitionKey }).read({ consistent: true });
}

const settings = readSettings(process.env);

if (settings === undefined) {
  console.log(SKIP_MESSAGE);
  describe.skip(`DynamoDBTokenStore on AWS — ${SKIP_MESSAGE}`, () => {
    it('runs the store contract against real DynamoDB', () => undefined);
  });
} else {
  let restoreEnvironment = (): void => undefined;
  const engine = useDynamoDBEngine({
    name: 'AWS',
    returnsOldItemOnConditionFailure: true,
    sandbox: false,
    differentialRuns: AWS_DIFFERENTIAL_RUNS,
    startTimeoutMs: AWS_START_TIMEOUT_MS,
    start: async () => {
      restoreEnvironment = hidePlaceholderCredentials();
      // Tables are checked (or created) before any test, so a missing one fails once, clearly.
      const client = new DynamoDBClient(settings.clientConfig);
      try {
        await Promise.all(['pk', CUSTOM_PARTITION_KEY].map((partitionKey) => prepareTable(client, settings, partitionKey)));
      } catch (error) {
        restoreEnvironment();
        throw error;
      } finally {
        client.destroy();
      }
      return { clientConfig: settings.clientConfig, stop: async () => restoreEnvironment() };
    },
    tableFor: async (_client, partitionKey) => tableNameFor(settings, partitionKey),
  });
  describeStoreContract('DynamoDBTokenStore on AWS', engine.makeFixture);
  describeDynamoDBEngineChecks(engine);
}
