/**
 * The built executable (`dist/cli/main.js`, package.json `bin`), spawned as a separate process.
 * `npm test` builds before running vitest; run `npm run build` first when running this file alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import { DynamoDBTokenStore } from '../../src/runtime/dynamodb-store.js';
import { fingerprint } from '../../src/runtime/fingerprint.js';
import { createTokenTable } from '../../src/runtime/table.js';
import { expectNoToken, fakeIssuer, freshKey, startDynalite } from './support.js';
import type { EmbeddedDynamo } from './support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { bin?: Record<string, string> };
const BIN = pkg.bin?.['baton'] ?? 'dist/cli/main.js';

interface Spawned {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns the CLI asynchronously (the embedded dynalite lives in this process and must keep serving). */
function baton(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dynamo: EmbeddedDynamo;

beforeAll(async () => {
  if (!existsSync(new URL(`../../${BIN}`, import.meta.url))) {
    throw new Error(`${BIN} does not exist: run 'npm run build' first (npm test does)`);
  }
  dynamo = await startDynalite();
});

afterAll(async () => {
  await dynamo.close();
});

describe('the built baton executable', () => {
  it('is the package bin, starts with a node shebang, and prints --help with exit code 0', async () => {
    expect(pkg.bin).toEqual({ baton: 'dist/cli/main.js' });
    expect(readFileSync(new URL(`../../${BIN}`, import.meta.url), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const help = await baton(['--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^Usage: baton <command> \[flags\]/);
    expect(help.stdout).toContain('Exit codes:');
  });

  it('exits 2 on a bad flag', async () => {
    const bad = await baton(['status', '--table', 'tokens', '--key', 'k', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain("unknown flag --bogus for 'baton status'");
  });

  it('init, then status --json of an item written by a coordinator, without the token and without SDK warnings', async () => {
    // No AWS credentials in the environment: the CLI uses placeholders for a local endpoint.
    const env = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_PROFILE: undefined, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined };
    const init = await baton(['init', '--table', 'baton-bin', '--endpoint', dynamo.endpoint], env);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('created table "baton-bin"');

    const key = freshKey('bin');
    await createTokenTable({ client: dynamo.client, tableName: 'baton-bin' });
    const issuer = fakeIssuer('bin');
    const coordinator = createTokenCoordinator({ store: new DynamoDBTokenStore({ client: dynamo.client, tableName: 'baton-bin', key }), issueToken: issuer.issueToken });
    const token = await coordinator.withToken(async (value) => value);

    const status = await baton(['status', '--table', 'baton-bin', '--key', key, '--endpoint', dynamo.endpoint, '--json'], env);
    expect(status.code).toBe(0);
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout)).toMatchObject({ found: true, generation: 1, token: { fingerprint: fingerprint(token) } });
    expectNoToken(init.stdout, init.stderr, status.stdout, status.stderr);

    const missing = await baton(['status', '--table', 'baton-bin', '--key', freshKey('none'), '--endpoint', dynamo.endpoint], env);
    expect(missing.code).toBe(3);
  });
});
