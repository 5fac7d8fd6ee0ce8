/**
 * Helpers for the CLI tests: embedded dynalite, an in-process `runCli` that captures its output
 * and checks that no token issued by any fake issuer ever appears in it, and a fake issuer.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import type { CliClientFactory } from '../../src/cli/run.js';
import type { IssuedToken } from '../../src/runtime/api.js';

// dynalite ships no type declarations; this is the part of its API the tests use.
type Dynalite = (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

export const REGION = 'us-east-1';
export const DUMMY_CREDENTIALS = { accessKeyId: 'local-access-key', secretAccessKey: 'local-secret-key' } as const;

/** Every token any fake issuer handed out in this test file. No CLI output may contain one. */
export const issuedTokens = new Set<string>();

/** An embedded dynalite on 127.0.0.1 with an admin client. */
export interface EmbeddedDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** A new client on the same endpoint (destroyed by `close`). */
  makeClient(): DynamoDBClient;
  close(): Promise<void>;
}

/**
 * Starts dynalite the way `test/store/dynalite-store.test.ts` does.
 *
 * @example
 * ```ts
 * const dynamo = await startDynalite();
 * ```
 */
export async function startDynalite(): Promise<EmbeddedDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: DynamoDBClient[] = [];
  const makeClient = (): DynamoDBClient => {
    const client = new DynamoDBClient({ endpoint, region: REGION, credentials: DUMMY_CREDENTIALS });
    clients.push(client);
    return client;
  };
  const client = makeClient();
  return {
    endpoint,
    client,
    makeClient,
    close: async () => {
      for (const made of clients) made.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** What one CLI run printed and returned. */
export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI in-process, capturing output, and asserts that no issued token leaked into it.
 *
 * @example
 * ```ts
 * const { exitCode, stdout } = await cli(['status', '--table', 't', '--key', 'k', '--endpoint', dynamo.endpoint]);
 * ```
 */
export async function cli(
  argv: readonly string[],
  options: { readonly clientFactory?: CliClientFactory; readonly now?: () => number; readonly env?: Record<string, string | undefined> } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    ...(options.clientFactory === undefined ? {} : { clientFactory: options.clientFactory }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  expectNoToken(stdout, stderr);
  return { exitCode, stdout, stderr };
}

/**
 * Asserts that none of the issued tokens appears in `texts`.
 *
 * @example
 * ```ts
 * expectNoToken(child.stdout, child.stderr);
 * ```
 */
export function expectNoToken(...texts: readonly string[]): void {
  for (const token of issuedTokens) {
    for (const text of texts) expect(text.includes(token), 'a token appeared in CLI output').toBe(false);
  }
}

/** A fake `POST /auth`: counts calls, registers every token it issues. */
export interface FakeIssuer {
  readonly issueToken: () => Promise<IssuedToken>;
  readonly calls: () => number;
  readonly tokens: readonly string[];
}

/**
 * A fake issuer whose tokens expire `lifetimeMs` after issue (optionally waiting for `gate` first).
 *
 * @example
 * ```ts
 * const issuer = fakeIssuer('a');
 * createTokenCoordinator({ store, issueToken: issuer.issueToken });
 * ```
 */
export function fakeIssuer(name: string, options: { readonly lifetimeMs?: number; readonly gate?: Promise<void>; readonly onCall?: () => void } = {}): FakeIssuer {
  const tokens: string[] = [];
  return {
    tokens,
    calls: () => tokens.length,
    issueToken: async () => {
      const token = `secret-token-${name}-${tokens.length + 1}-${randomUUID()}`;
      tokens.push(token);
      issuedTokens.add(token);
      options.onCall?.();
      if (options.gate !== undefined) await options.gate;
      return { token, expiresAtMs: Date.now() + (options.lifetimeMs ?? 3_600_000) };
    },
  };
}

/** A fresh item key, so tests sharing a table do not see each other's items. */
export function freshKey(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
