/**
 * Shared pieces of the fault-injection suites (`test/faults/`): embedded dynalite with a token
 * table, real `DynamoDBClient`s carrying the fault layer, a strict fake issuer whose tokens are
 * recognisable, and a logger that captures every line.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { FakeChatApi } from '../../src/fake/chat-api.js';
import type { FakeChatApiOptions } from '../../src/fake/chat-api.js';
import type { IssuedToken, IssueTokenContext, Logger } from '../../src/runtime/api.js';
import { IssuerRefusedError } from '../../src/runtime/errors.js';
import { DynamoDBTokenStore } from '../../src/runtime/dynamodb-store.js';
import { createTokenTable } from '../../src/runtime/table.js';
import { installSdkFaults } from './sdk-faults.js';
import type { SdkFaultLayer } from './sdk-faults.js';

// dynalite ships no type declarations; this is the part of its API the suites use.
type Dynalite = (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

export const REGION = 'us-east-1';
export const DUMMY_CREDENTIALS = { accessKeyId: 'local-access-key', secretAccessKey: 'local-secret-key' } as const;
/** Every token the fake issuers of these suites mint starts with this, so a leak is easy to spot. */
export const TOKEN_PREFIX = 'LEAKCHECK-tok-';
/** The auth secret of these suites; it must never appear anywhere either. */
export const AUTH_SECRET = 'LEAKCHECK-secret-9f31c2';
/**
 * `requestTimeout` of the fault clients unless a test asks for another: generous, so that a loaded
 * machine (dynalite in-process, demo processes alongside) never turns into an unplanned timeout fault.
 */
export const REQUEST_TIMEOUT_MS = 3_000;
/** `requestTimeout` for tests that inject `timeout` faults (each such fault costs this long). */
export const SHORT_REQUEST_TIMEOUT_MS = 400;

/** A real DynamoDB client on dynalite with the fault layer installed. */
export interface FaultClient {
  readonly client: DynamoDBClient;
  readonly faults: SdkFaultLayer;
}

/** Embedded dynalite with one token table. */
export interface DynaliteRig {
  readonly endpoint: string;
  readonly tableName: string;
  /** A client without faults, for raw reads and writes. */
  readonly raw: DynamoDBClient;
  /**
   * A new client with the fault layer; `maxAttempts` is required so every test states it.
   * `requestTimeoutMs` defaults to {@link REQUEST_TIMEOUT_MS}.
   */
  faultClient(config: { maxAttempts: number; requestTimeoutMs?: number } & Partial<DynamoDBClientConfig>): Promise<FaultClient>;
  /** A new store on `key` over `client`. */
  store(client: DynamoDBClient, key: string): DynamoDBTokenStore;
  /** A fresh item key. */
  freshKey(label: string): string;
  /** The item as stored, raw. */
  getRaw(key: string): Promise<Record<string, AttributeValue> | undefined>;
  /** Writes an item raw (no condition). */
  putRaw(key: string, attributes: Record<string, AttributeValue>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts dynalite on 127.0.0.1 and creates `tableName`.
 *
 * @example
 * ```ts
 * const rig = await startDynaliteRig('baton-faults');
 * const { client, faults } = await rig.faultClient({ maxAttempts: 3 });
 * ```
 */
export async function startDynaliteRig(tableName: string): Promise<DynaliteRig> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const raw = new DynamoDBClient({ endpoint, region: REGION, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 });
  await createTokenTable({ client: raw, tableName, activePollIntervalMs: 10 });
  const made: FaultClient[] = [];
  return {
    endpoint,
    tableName,
    raw,
    async faultClient({ requestTimeoutMs = REQUEST_TIMEOUT_MS, ...config }) {
      const client = new DynamoDBClient({
        endpoint,
        region: REGION,
        credentials: DUMMY_CREDENTIALS,
        // Without throwOnRequestTimeout the SDK only warns when requestTimeout passes.
        requestHandler: { requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
        ...config,
      });
      const faults = await installSdkFaults(client);
      const pair = { client, faults };
      made.push(pair);
      return pair;
    },
    store: (client, key) => new DynamoDBTokenStore({ client, tableName, key }),
    freshKey: (label) => `${label}-${randomUUID()}`,
    async getRaw(key) {
      const output = await raw.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
      return output.Item;
    },
    async putRaw(key, attributes) {
      await raw.send(new PutItemCommand({ TableName: tableName, Item: { ...attributes, pk: { S: key } } }));
    },
    async close() {
      await Promise.all(made.map((pair) => pair.faults.close()));
      for (const pair of made) pair.client.destroy();
      raw.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** Every token a fake chat API minted, in order. */
export interface TokenLedger {
  readonly tokens: string[];
  readonly generateToken: NonNullable<FakeChatApiOptions['generateToken']>;
}

/**
 * A token generator with {@link TOKEN_PREFIX} that records every token.
 *
 * @example
 * ```ts
 * const ledger = tokenLedger();
 * const api = new FakeChatApi({ secret: AUTH_SECRET, clock, generateToken: ledger.generateToken });
 * ```
 */
export function tokenLedger(): TokenLedger {
  const tokens: string[] = [];
  return {
    tokens,
    generateToken: (generation) => {
      const token = `${TOKEN_PREFIX}${generation}-${randomUUID()}`;
      tokens.push(token);
      return token;
    },
  };
}

/** A strict in-memory chat API and an `issueToken` that calls it (no HTTP). */
export interface FakeIssuer {
  readonly api: FakeChatApi;
  readonly ledger: TokenLedger;
  /** `POST /auth` through the model: 401 → `IssuerRefusedError`, 500/dropped → an unknown-outcome error. */
  issueToken(context: IssueTokenContext): Promise<IssuedToken>;
}

/**
 * @example
 * ```ts
 * const issuer = fakeIssuer();
 * createTokenCoordinator({ store, issueToken: issuer.issueToken });
 * issuer.api.stats().authCalls;
 * ```
 */
export function fakeIssuer(options: { latencyMs?: number } = {}): FakeIssuer {
  const ledger = tokenLedger();
  const api = new FakeChatApi({ secret: AUTH_SECRET, clock: { now: () => Date.now() }, generateToken: ledger.generateToken });
  return {
    api,
    ledger,
    async issueToken({ signal }) {
      // Honours the abort signal like a real fetch would: the call ends, its outcome unknown.
      if (options.latencyMs !== undefined && options.latencyMs > 0) await delay(options.latencyMs, undefined, { signal });
      if (signal.aborted) throw new Error('POST /auth aborted');
      const result = api.auth(AUTH_SECRET);
      if (result.status === 200) return result.expiresAtMs === undefined ? { token: result.token } : { token: result.token, expiresAtMs: result.expiresAtMs };
      if (result.status === 401) throw new IssuerRefusedError('POST /auth answered 401: the secret was refused', { status: 401 });
      throw new Error(`POST /auth failed (${result.status}); outcome unknown`);
    },
  };
}

/** Captures every log call, details included, as text. */
export interface CapturedLog {
  readonly logger: Logger;
  readonly lines: string[];
}

/**
 * @example
 * ```ts
 * const { logger, lines } = capturingLogger();
 * ```
 */
export function capturingLogger(sink: string[] = []): CapturedLog {
  const record =
    (level: string) =>
    (message: string, ...details: unknown[]): void => {
      sink.push(`${level} ${message}${details.length === 0 ? '' : ` ${inspect(details, { depth: 10 })}`}`);
    };
  return { logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }, lines: sink };
}

/** Resolves with what `promise` rejected with; fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection, got a result');
    },
    (error: unknown) => error as Error,
  );
}

/** Everything an error can show: message, stack, causes (recursively), inspect and JSON forms. */
export function everythingAbout(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth += 1) {
    if (current instanceof Error) parts.push(current.name, current.message, current.stack ?? '');
    parts.push(inspect(current, { depth: 10, showHidden: true }));
    try {
      parts.push(JSON.stringify(current) ?? '');
    } catch {
      // circular: inspect above already covers it
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n');
}
