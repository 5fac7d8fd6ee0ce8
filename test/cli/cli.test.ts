/**
 * `baton init | status | invalidate` in-process (`runCli`) against embedded dynalite, with items
 * written by real coordinators. Every run also checks that no issued token appears in the output.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefaultClient } from '../../src/cli/context.js';
import type { CliClientFactory } from '../../src/cli/run.js';
import { EXIT_CODES } from '../../src/cli/run.js';
import type { StatusView } from '../../src/cli/format.js';
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import type { TokenCoordinator } from '../../src/runtime/api.js';
import { DynamoDBTokenStore } from '../../src/runtime/dynamodb-store.js';
import { IssuerRefusedError, TokenRejectedError } from '../../src/runtime/errors.js';
import { fingerprint } from '../../src/runtime/fingerprint.js';
import { createTokenTable } from '../../src/runtime/table.js';
import { cli, fakeIssuer, freshKey, startDynalite } from './support.js';
import type { EmbeddedDynamo, FakeIssuer } from './support.js';

const TABLE = 'baton-cli';

let dynamo: EmbeddedDynamo;
let at: string[];

beforeAll(async () => {
  dynamo = await startDynalite();
  at = ['--endpoint', dynamo.endpoint];
  await createTokenTable({ client: dynamo.client, tableName: TABLE, activePollIntervalMs: 10 });
});

afterAll(async () => {
  await dynamo.close();
});

function storeFor(key: string): DynamoDBTokenStore {
  return new DynamoDBTokenStore({ client: dynamo.client, tableName: TABLE, key });
}

function coordinatorFor(key: string, issuer: FakeIssuer | { issueToken: () => Promise<never> }, instanceId: string): TokenCoordinator {
  return createTokenCoordinator({ store: storeFor(key), issueToken: issuer.issueToken, instanceId });
}

/** The token a coordinator hands to `withToken` (what a Lambda would send). */
function currentToken(coordinator: TokenCoordinator): Promise<string> {
  return coordinator.withToken(async (token) => token);
}

/** A coordinator that finds `rejected` in the item, sees it refused (401) and refreshes. */
function refreshPast(coordinator: TokenCoordinator, rejected: string): Promise<string> {
  return coordinator.withToken(async (token) => {
    if (token === rejected) throw new TokenRejectedError('chat API answered 401');
    return token;
  });
}

/** Publishes a first token under `key` through a real coordinator. */
async function publishFirstToken(key: string): Promise<{ token: string; issuer: FakeIssuer }> {
  const issuer = fakeIssuer(`first-${key}`);
  const token = await currentToken(coordinatorFor(key, issuer, 'lambda-a'));
  expect(issuer.calls()).toBe(1);
  return { token, issuer };
}

async function statusJson(key: string, options: { now?: () => number } = {}): Promise<StatusView & { found: true }> {
  const run = await cli(['status', '--table', TABLE, '--key', key, ...at, '--json'], options);
  expect(run.exitCode).toBe(EXIT_CODES.ok);
  expect(run.stderr).toBe('');
  const view = JSON.parse(run.stdout) as StatusView;
  expect(view.found).toBe(true);
  return view as StatusView & { found: true };
}

/** A client factory whose clients fail every `commandName` with an AWS error named `errorName`. */
function failing(commandName: string, errorName: string): CliClientFactory {
  return (config) => {
    const client = createDefaultClient(config);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === commandName) throw Object.assign(new Error(`injected ${errorName}`), { name: errorName, $metadata: { httpStatusCode: 400 } });
        return next(args);
      },
      { step: 'initialize', name: 'injectFailure' },
    );
    return client;
  };
}

describe('baton init', () => {
  it('creates the table with on-demand billing and waits until ACTIVE; a second run says it exists and exits 0', async () => {
    const first = await cli(['init', '--table', 'baton-init', ...at]);
    expect(first.exitCode).toBe(EXIT_CODES.ok);
    expect(first.stdout).toContain(`created table "baton-init" (partition key "pk") at endpoint ${dynamo.endpoint}: on-demand billing, ACTIVE`);
    expect(first.stdout).toContain('dynamodb:GetItem and dynamodb:UpdateItem');
    expect(first.stderr).toContain('waiting until it is ACTIVE');

    const table = (await dynamo.client.send(new DescribeTableCommand({ TableName: 'baton-init' }))).Table;
    expect(table?.TableStatus).toBe('ACTIVE');
    expect(table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(table?.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');

    const second = await cli(['init', '--table', 'baton-init', ...at]);
    expect(second.exitCode).toBe(EXIT_CODES.ok);
    expect(second.stdout).toContain(`table "baton-init" (partition key "pk") at endpoint ${dynamo.endpoint} already exists with the right key schema and is ACTIVE; nothing to do`);
  });

  it('honours --partition-key, and refuses an existing table with another key schema (exit 5, names the flag to use)', async () => {
    const custom = await cli(['init', '--table', 'baton-init-custom', '--partition-key', 'tokenName', ...at]);
    expect(custom.exitCode).toBe(EXIT_CODES.ok);
    expect(custom.stdout).toContain('BATON_PARTITION_KEY=tokenName');

    const mismatch = await cli(['init', '--table', 'baton-init-custom', ...at]);
    expect(mismatch.exitCode).toBe(EXIT_CODES.misconfigured);
    expect(mismatch.stderr).toContain('already exists with key schema [HASH "tokenName" (S)]');
    expect(mismatch.stderr).toContain('hint: to use that table, run again with --partition-key tokenName');
  });

  it('access denied: exit 5 naming the IAM action', async () => {
    const run = await cli(['init', '--table', 'baton-denied', ...at], { clientFactory: failing('CreateTableCommand', 'AccessDeniedException') });
    expect(run.exitCode).toBe(EXIT_CODES.misconfigured);
    expect(run.stderr).toContain('the credentials in use need the IAM permission dynamodb:CreateTable');
  });
});

describe('baton status', () => {
  it('a missing item: a clear message and exit 3 (with --json, {"found": false} on stdout too)', async () => {
    const key = freshKey('missing');
    const text = await cli(['status', '--table', TABLE, '--key', key, ...at]);
    expect(text.exitCode).toBe(EXIT_CODES.notFound);
    expect(text.stdout).toBe('');
    expect(text.stderr).toContain(`baton status: no item with pk="${key}" in DynamoDB table "${TABLE}" at endpoint ${dynamo.endpoint}`);
    expect(text.stderr).toContain("BATON_KEY / BATON_PARTITION_KEY");

    const json = await cli(['status', '--table', TABLE, '--key', key, ...at, '--json']);
    expect(json.exitCode).toBe(EXIT_CODES.notFound);
    expect(JSON.parse(json.stdout)).toEqual({
      tableName: TABLE,
      partitionKey: 'pk',
      key,
      location: `endpoint ${dynamo.endpoint}`,
      nowMs: expect.any(Number),
      found: false,
    });
  });

  it('an item written by a real coordinator: generation, fingerprint, times, revision, schema version; never the token', async () => {
    const key = freshKey('status');
    const { token } = await publishFirstToken(key);
    const record = await storeFor(key).read({ consistent: true });

    const text = await cli(['status', '--table', TABLE, '--key', key, ...at]);
    expect(text.exitCode).toBe(EXIT_CODES.ok);
    expect(text.stderr).toBe('');
    expect(text.stdout).toContain(`DynamoDB table "${TABLE}" (pk="${key}") at endpoint ${dynamo.endpoint}`);
    expect(text.stdout).toMatch(/state {11}ok: instances adopt and use this token/);
    expect(text.stdout).toMatch(/generation {6}1\n/);
    expect(text.stdout).toContain(`token           ${fingerprint(token)} (fingerprint; the token itself is never shown)`);
    expect(text.stdout).toMatch(/issued {8}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+(ms|s) ago\)/);
    expect(text.stdout).toMatch(/expires {7}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (59m \d+s|1h 0m)\)/);
    expect(text.stdout).toContain('lease           none');
    expect(text.stdout).toContain('last failure    none');
    expect(text.stdout).toContain('invalidated     no');
    expect(text.stdout).toMatch(/revision {8}2\n/);
    expect(text.stdout).toMatch(/schema version  1\n/);

    const view = await statusJson(key);
    expect(Object.keys(view)).toEqual([
      'tableName',
      'partitionKey',
      'key',
      'location',
      'nowMs',
      'found',
      'schemaVersion',
      'revision',
      'generation',
      'token',
      'invalidatedGeneration',
      'lease',
      'failure',
      'notes',
    ]);
    expect(view).toMatchObject({ found: true, generation: 1, revision: 2, schemaVersion: 1, invalidatedGeneration: null, lease: null, failure: null });
    expect(view.token).toEqual({
      fingerprint: fingerprint(token),
      issuedAtMs: record?.tokenIssuedAtMs,
      ageMs: expect.any(Number),
      expiresAtMs: record?.tokenExpiresAtMs,
      expiresInMs: expect.any(Number),
      expired: false,
      invalidated: false,
    });
    expect(view.token?.expiresInMs).toBeGreaterThan(3_500_000);
  });

  it('a lease held by a refreshing coordinator: holder, age, live; STALE once its end plus the skew allowance has passed', async () => {
    const key = freshKey('lease');
    const { token } = await publishFirstToken(key);
    let open!: () => void;
    let entered!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const issuing = new Promise<void>((resolve) => (entered = resolve));
    const issuer = fakeIssuer(`lease-${key}`, { gate, onCall: () => entered() });
    const refreshing = refreshPast(coordinatorFor(key, issuer, 'lambda-b'), token);
    await issuing; // lambda-b holds the lease and is inside POST /auth

    const view = await statusJson(key);
    expect(view.lease).toMatchObject({ holder: 'lambda-b', looksStale: false });
    expect(view.lease?.id).toMatch(/^lambda-b\./);
    expect(view.lease?.ageMs).toBeGreaterThanOrEqual(0);
    expect(view.lease?.expiresInMs).toBeGreaterThan(0);
    expect(view.notes).toContain('a refresh is in progress: lambda-b holds the lease');
    const text = await cli(['status', '--table', TABLE, '--key', key, ...at]);
    expect(text.stdout).toContain(`lease           held by lambda-b (lease id ${view.lease?.id})`);
    expect(text.stdout).toMatch(/acquired {6}.*ago\)/);
    expect(text.stdout).toMatch(/ends {10}.*\(in \d+s\)\n/);

    const later = () => Date.now() + 60_000;
    const stale = await statusJson(key, { now: later });
    expect(stale.lease?.looksStale).toBe(true);
    expect(stale.notes[0]).toMatch(/^the lease of lambda-b looks stale/);
    const staleText = await cli(['status', '--table', TABLE, '--key', key, ...at], { now: later });
    expect(staleText.stdout).toMatch(/ends {10}.* ago\) — looks STALE/);

    open();
    const fresh = await refreshing;
    expect(fresh).toBe(issuer.tokens[0]);
    const after = await statusJson(key);
    expect(after).toMatchObject({ generation: 2, lease: null });
    expect(after.token?.fingerprint).toBe(fingerprint(fresh));
  });

  it('a recorded issuer refusal: code, HTTP status, count, back-off remaining', async () => {
    const key = freshKey('refused');
    const refusing = {
      issueToken: async (): Promise<never> => {
        throw new IssuerRefusedError('POST /auth refused the secret', { status: 401 });
      },
    };
    await expect(currentToken(coordinatorFor(key, refusing, 'lambda-c'))).rejects.toBeInstanceOf(IssuerRefusedError);

    const view = await statusJson(key);
    expect(view.token).toBeNull();
    expect(view.failure).toMatchObject({ code: 'ISSUER_REFUSED', status: 401, count: 1 });
    expect(view.failure?.backoffRemainingMs).toBeGreaterThan(0);
    expect(view.notes[0]).toBe('no token published yet: the first instance that needs one calls the issuer');
    expect(view.notes[1]).toMatch(/^issuer calls are paused for \d+s after ISSUER_REFUSED: callers that need a new token get IssuerRefusedError until then$/);
    const text = await cli(['status', '--table', TABLE, '--key', key, ...at]);
    expect(text.stdout).toMatch(/last failure {4}ISSUER_REFUSED \(HTTP 401\), 1 in a row, .* ago\)\n/);
    expect(text.stdout).toMatch(/back-off {6}\d+s remaining \(until .*Z\)/);
    const over = await cli(['status', '--table', TABLE, '--key', key, ...at], { now: () => Date.now() + 3_600_000 });
    expect(over.stdout).toMatch(/back-off {6}over \(ended .* ago\)/);
  });

  it('an item Baton cannot read: exit 1, the reason, nothing overwritten', async () => {
    const key = freshKey('foreign');
    await dynamo.client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: key }, schemaVersion: { N: '1' }, revision: { N: '1' }, colour: { S: 'blue' } } }));
    const run = await cli(['status', '--table', TABLE, '--key', key, ...at]);
    expect(run.exitCode).toBe(EXIT_CODES.failed);
    expect(run.stderr).toContain('is not a Baton token record');
  });
});

describe('baton invalidate', () => {
  it('marks the generation; a fresh coordinator reading the item then refreshes (one issuer call) instead of adopting', async () => {
    const key = freshKey('invalidate');
    const { token } = await publishFirstToken(key);

    // Control: without an invalidation, a cold instance adopts the stored token.
    const adopter = fakeIssuer(`adopter-${key}`);
    expect(await currentToken(coordinatorFor(key, adopter, 'lambda-cold-1'))).toBe(token);
    expect(adopter.calls()).toBe(0);

    const run = await cli(['invalidate', '--table', TABLE, '--key', key, ...at]);
    expect(run.exitCode).toBe(EXIT_CODES.ok);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`invalidated generation 1 (token ${fingerprint(token)}) in DynamoDB table "${TABLE}" (pk="${key}")`);
    expect(run.stdout).toContain('instances that have it cached keep using it until the chat API rejects it');
    const marked = await statusJson(key);
    expect(marked).toMatchObject({ generation: 1, invalidatedGeneration: 1, revision: 3 });
    expect(marked.token?.invalidated).toBe(true);
    expect(marked.notes[0]).toMatch(/^this generation was invalidated by an operator/);

    // Idempotent: nothing written the second time.
    const again = await cli(['invalidate', '--table', TABLE, '--key', key, ...at]);
    expect(again.exitCode).toBe(EXIT_CODES.ok);
    expect(again.stdout).toContain('is already invalidated; nothing written');
    expect((await statusJson(key)).revision).toBe(3);

    const issuer = fakeIssuer(`after-invalidate-${key}`);
    const cold = coordinatorFor(key, issuer, 'lambda-cold-2');
    const received = await currentToken(cold);
    expect(issuer.calls()).toBe(1);
    expect(cold.stats().authCalls).toBe(1);
    expect(received).toBe(issuer.tokens[0]);
    expect(received).not.toBe(token);
    const refreshed = await statusJson(key);
    expect(refreshed).toMatchObject({ generation: 2, invalidatedGeneration: null });
    expect(refreshed.token?.fingerprint).toBe(fingerprint(received));
  });

  it('racing a publish: the generation moved on between read and write, so nothing is invalidated and it exits 4', async () => {
    const key = freshKey('race');
    const { token } = await publishFirstToken(key);
    const racer = fakeIssuer(`racer-${key}`);
    let raced = false;
    const publishDuringInvalidate: CliClientFactory = (config) => {
      const client = createDefaultClient(config);
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'UpdateItemCommand' && !raced) {
            raced = true; // the CLI has read generation 1; another instance now publishes generation 2
            await refreshPast(coordinatorFor(key, racer, 'lambda-racer'), token);
          }
          return next(args);
        },
        { step: 'initialize', name: 'racePublish' },
      );
      return client;
    };
    const run = await cli(['invalidate', '--table', TABLE, '--key', key, ...at], { clientFactory: publishDuringInvalidate });
    expect(raced).toBe(true);
    expect(run.exitCode).toBe(EXIT_CODES.changed);
    expect(run.stdout).toBe('');
    const newToken = racer.tokens[0] as string;
    expect(run.stderr).toContain(
      `not invalidated: a new token was published after the item was read (generation 1 (token ${fingerprint(token)}) -> generation 2 (token ${fingerprint(newToken)})); someone already refreshed it.`,
    );
    expect(run.stderr).toContain(`If the new token is bad too, run again: baton invalidate --table ${TABLE} --key ${key} --endpoint ${dynamo.endpoint}`);

    const view = await statusJson(key);
    expect(view).toMatchObject({ generation: 2, invalidatedGeneration: null });
    // The new token was not touched: a cold instance adopts it without calling the issuer.
    const issuer = fakeIssuer(`after-race-${key}`);
    expect(await currentToken(coordinatorFor(key, issuer, 'lambda-cold-3'))).toBe(newToken);
    expect(issuer.calls()).toBe(0);
  });

  it('a missing item exits 3; an item without a token has nothing to invalidate (exit 0, nothing written)', async () => {
    const missing = await cli(['invalidate', '--table', TABLE, '--key', freshKey('nothing'), ...at]);
    expect(missing.exitCode).toBe(EXIT_CODES.notFound);
    expect(missing.stderr).toContain('there is no token to invalidate under this key');

    const key = freshKey('tokenless');
    await storeFor(key).write({ intent: 'claim', condition: { exists: false }, set: { generation: 0 }, remove: [] });
    const run = await cli(['invalidate', '--table', TABLE, '--key', key, ...at]);
    expect(run.exitCode).toBe(EXIT_CODES.ok);
    expect(run.stdout).toContain('(generation 0); nothing to invalidate');
    expect((await statusJson(key)).revision).toBe(1);
  });

  it('access denied on the write: exit 5 naming dynamodb:UpdateItem', async () => {
    const key = freshKey('denied');
    await publishFirstToken(key);
    const run = await cli(['invalidate', '--table', TABLE, '--key', key, ...at], { clientFactory: failing('UpdateItemCommand', 'AccessDeniedException') });
    expect(run.exitCode).toBe(EXIT_CODES.misconfigured);
    expect(run.stderr).toContain('need the IAM permission dynamodb:UpdateItem');
  });

  it('a throttled write: exit 1, says the outcome is unknown and how to check', async () => {
    const key = freshKey('throttled');
    await publishFirstToken(key);
    const run = await cli(['invalidate', '--table', TABLE, '--key', key, ...at], { clientFactory: failing('UpdateItemCommand', 'ThrottlingException') });
    expect(run.exitCode).toBe(EXIT_CODES.failed);
    expect(run.stderr).toContain('may or may not have been applied');
    expect(run.stderr).toContain(`hint: see whether it was applied (invalidated = the current generation) with: baton status --table ${TABLE} --key ${key}`);
  });
});

describe('misconfiguration and connectivity', () => {
  it('a missing table: exit 5 with the baton init command line', async () => {
    for (const command of ['status', 'invalidate']) {
      const run = await cli([command, '--table', 'no-such-table', '--key', 'k', ...at, '--partition-key', 'name']);
      expect(run.exitCode).toBe(EXIT_CODES.misconfigured);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`baton ${command}: DynamoDB table "no-such-table" was not found at endpoint ${dynamo.endpoint}`);
      expect(run.stderr).toContain(`hint: create the table with: baton init --table no-such-table --endpoint ${dynamo.endpoint} --partition-key name`);
    }
  });

  it('access denied on the read: exit 5 naming dynamodb:GetItem', async () => {
    const run = await cli(['status', '--table', TABLE, '--key', 'k', ...at], { clientFactory: failing('GetItemCommand', 'AccessDeniedException') });
    expect(run.exitCode).toBe(EXIT_CODES.misconfigured);
    expect(run.stderr).toContain('need the IAM permission dynamodb:GetItem');
  });

  it('the wrong partition-key name: exit 5 pointing at --partition-key', async () => {
    const run = await cli(['status', '--table', TABLE, '--key', 'k', ...at, '--partition-key', 'tokenName']);
    expect(run.exitCode).toBe(EXIT_CODES.misconfigured);
    expect(run.stderr).toContain("hint: pass --partition-key with the name of the table's partition-key attribute");
  });

  it('an unreachable endpoint: exit 1, telling to check the URL', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const run = await cli(['status', '--table', TABLE, '--key', 'k', '--endpoint', endpoint]);
    expect(run.exitCode).toBe(EXIT_CODES.failed);
    expect(run.stderr).toContain('ECONNREFUSED');
    expect(run.stderr).toContain(`hint: check that --endpoint ${endpoint} is the right URL and that DynamoDB is listening there`);
  });

  it('no region anywhere: exit 5 before any request, naming --region and AWS_REGION', async () => {
    let sent = 0;
    const noRegion: CliClientFactory = () => {
      const client = new DynamoDBClient({ region: () => Promise.reject<string>(new Error('Region is missing')), credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      client.middlewareStack.add((next) => async (args) => ((sent += 1), next(args)), { step: 'initialize', name: 'count' });
      return client;
    };
    const run = await cli(['status', '--table', TABLE, '--key', 'k'], { clientFactory: noRegion });
    expect(run.exitCode).toBe(EXIT_CODES.misconfigured);
    expect(run.stderr).toContain('no AWS region is configured: pass --region (e.g. --region eu-west-1), set AWS_REGION');
    expect(sent).toBe(0);
  });

  it('gives the client factory the region from --region, AWS_REGION or the endpoint default', async () => {
    const seen: (string | undefined)[] = [];
    const spy: CliClientFactory = (config) => {
      seen.push(config.region);
      return createDefaultClient(config);
    };
    await cli(['status', '--table', TABLE, '--key', 'k', ...at], { clientFactory: spy });
    await cli(['status', '--table', TABLE, '--key', 'k', ...at], { clientFactory: spy, env: { AWS_REGION: 'eu-west-3' } });
    await cli(['status', '--table', TABLE, '--key', 'k', ...at, '--region', 'ap-south-1'], { clientFactory: spy, env: { AWS_REGION: 'eu-west-3' } });
    expect(seen).toEqual(['us-east-1', 'eu-west-3', 'ap-south-1']);
  });
});
