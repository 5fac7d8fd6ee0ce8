import { describeStoreContract } from './contract.js';
import { describeDynamoDBEngineChecks, useDynamoDBEngine } from './dynamodb-engine.js';
import { DYNAMODB_LOCAL_CREDENTIALS, DYNAMODB_LOCAL_REGION, startDynamoDBLocal } from '../support/dynamodb-local.js';

/**
 * The store contract and the engine checks on AWS's official DynamoDB Local (the jar in
 * amplify-dynamodb-simulator), one in-memory server for this file. Needs `java`; `.ci/run`
 * installs a JRE when it is missing, so CI always runs this file.
 */

/** A cold JVM on a loaded CI runner: startup polls for about 30 s, plus margin. */
const START_TIMEOUT_MS = 90_000;

const engine = useDynamoDBEngine({
  name: 'DynamoDB Local',
  // DynamoDB Local (1.25+) honours ReturnValuesOnConditionCheckFailure: no read-back is needed.
  returnsOldItemOnConditionFailure: true,
  startTimeoutMs: START_TIMEOUT_MS,
  // DynamoDB Local words a key-schema mismatch "One of the required keys was not given a value"
  // (DynamoDB: "The provided key element does not match the schema"); misconfigurationError in
  // src/runtime/dynamodb-store.ts does not recognise it yet and reports a generic ValidationException.

  start: async () => {
    const local = await startDynamoDBLocal();
    console.log(`DynamoDB Local started at ${local.endpoint} in ${local.startupMs} ms`);
    return { clientConfig: { endpoint: local.endpoint, region: DYNAMODB_LOCAL_REGION, credentials: DYNAMODB_LOCAL_CREDENTIALS }, stop: () => local.stop() };
  },
});

describeStoreContract('DynamoDBTokenStore on DynamoDB Local', engine.makeFixture);
describeDynamoDBEngineChecks(engine);
