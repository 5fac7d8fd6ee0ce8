/**
 * The `baton` command line: help, version, and strict flag validation (exit 2 naming the flag,
 * without ever making a DynamoDB client).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandHelp, globalHelp, parseCommandLine } from '../../src/cli/args.js';
import { EXIT_CODES } from '../../src/cli/run.js';
import type { CliClientFactory } from '../../src/cli/run.js';
import { cli } from './support.js';

const noClient: CliClientFactory = () => {
  throw new Error('a usage error must not create a DynamoDB client');
};

async function usage(argv: readonly string[]): Promise<string> {
  const run = await cli(argv, { clientFactory: noClient });
  expect(run.exitCode).toBe(EXIT_CODES.usage);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^baton: /);
  expect(run.stderr).toMatch(/Run 'baton( \w+)? --help' for usage\.\n$/);
  return run.stderr;
}

describe('help and version', () => {
  it('--help, -h and help print the global help on stdout with every command and exit code', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const run = await cli(argv, { clientFactory: noClient });
      expect(run.exitCode).toBe(EXIT_CODES.ok);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(globalHelp());
    }
    const text = globalHelp();
    expect(text).toMatch(/^Usage: baton <command> \[flags\]/);
    for (const command of COMMANDS) expect(text).toContain(`\n  ${command} `);
    for (const line of ['  0  ok', '  1  the operation failed', '  2  usage error', '  3  the item does not exist', '  4  the item changed meanwhile', '  5  misconfigured']) {
      expect(text).toContain(line);
    }
  });

  it('each command has its own help, with its flags and the exit codes it can end with', async () => {
    for (const command of COMMANDS) {
      for (const argv of [[command, '--help'], [command, '-h'], ['help', command], [command, '--table', 'x', '--help']]) {
        const run = await cli(argv, { clientFactory: noClient });
        expect(run.exitCode).toBe(EXIT_CODES.ok);
        expect(run.stdout).toBe(commandHelp(command));
      }
    }
    expect(commandHelp('status')).toMatch(/^Usage: baton status --table NAME --key KEY \[--endpoint URL\] \[--region REGION\] \[--partition-key NAME\] \[--json\]\n/);
    expect(commandHelp('status')).toContain('  3  the item does not exist');
    expect(commandHelp('status')).not.toContain('  4  ');
    expect(commandHelp('invalidate')).toContain('  4  the item changed meanwhile');
    expect(commandHelp('init')).toMatch(/^Usage: baton init --table NAME \[--endpoint URL\] \[--region REGION\] \[--partition-key NAME\]\n/);
    expect(commandHelp('init')).not.toContain('--key');
  });

  it('--version prints the package version', async () => {
    const run = await cli(['--version'], { clientFactory: noClient });
    expect(run.exitCode).toBe(EXIT_CODES.ok);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(run.stdout).toBe(`${pkg.version}\n`);
  });
});

describe('usage errors exit 2 and name the problem', () => {
  it('no command, an unknown command, a flag instead of a command', async () => {
    expect(await usage([])).toContain('no command given; commands: init, status, invalidate');
    expect(await usage(['stats'])).toContain("unknown command 'stats'; commands: init, status, invalidate");
    expect(await usage(['help', 'stats'])).toContain("unknown command 'stats'");
    expect(await usage(['--table', 't', 'status'])).toContain("'--table' is not a command; the command comes first");
  });

  it('an unknown flag, naming it and the flags the command takes', async () => {
    expect(await usage(['status', '--table', 't', '--key', 'k', '--tabel', 'x'])).toContain(
      "unknown flag --tabel for 'baton status' (its flags: --table, --key, --endpoint, --region, --partition-key, --json, --help)",
    );
    expect(await usage(['invalidate', '--table', 't', '--key', 'k', '--json'])).toContain("unknown flag --json for 'baton invalidate'");
    expect(await usage(['init', '--table', 't', '--key', 'k'])).toContain("unknown flag --key for 'baton init'");
    expect(await usage(['status', '-x'])).toContain('unknown flag -x');
  });

  it('a missing value, a value given to a switch, a repeated flag, a stray argument', async () => {
    expect(await usage(['status', '--key', 'k', '--table'])).toContain('--table needs a value');
    expect(await usage(['status', '--table', '--key', 'k'])).toContain('--table needs a value (the next argument looks like a flag');
    expect(await usage(['status', '--table', 't', '--key', 'k', '--json=yes'])).toContain('--json takes no value');
    expect(await usage(['status', '--table', 't', '--table', 'u', '--key', 'k'])).toContain('--table was given more than once');
    expect(await usage(['status', '--table', 't', 'chat-bot'])).toContain("unexpected argument 'chat-bot': 'baton status' takes only flags");
  });

  it('required flags', async () => {
    const both = await usage(['status']);
    expect(both).toContain('--table is required');
    expect(both).toContain('--key is required');
    expect(await usage(['init'])).toContain('--table is required');
    expect(await usage(['invalidate', '--table', 'tokens'])).toContain('--key is required');
  });

  it('malformed values: table name, key, partition key, endpoint URL, region', async () => {
    expect(await usage(['init', '--table', 'ab'])).toContain("--table must be a DynamoDB table name (3 to 255 characters among a-z, A-Z, 0-9, '_', '-' and '.'), got 'ab'");
    expect(await usage(['init', '--table', 'my table'])).toContain('--table must be a DynamoDB table name');
    expect(await usage(['status', '--table', 'tokens', '--key', ''])).toContain('--key must be a non-empty string');
    expect(await usage(['status', '--table', 'tokens', '--key', 'x'.repeat(2049)])).toContain('--key must be a non-empty string of at most 2048 bytes');
    expect(await usage(['init', '--table', 'tokens', '--partition-key', 'token'])).toContain('--partition-key must not be one of the attribute names Baton stores');
    expect(await usage(['init', '--table', 'tokens', '--partition-key='])).toContain('--partition-key must be an attribute name of 1 to 255 bytes');
    expect(await usage(['init', '--table', 'tokens', '--endpoint', 'localhost:8000'])).toContain("--endpoint must be an http(s) URL such as http://localhost:8000");
    expect(await usage(['init', '--table', 'tokens', '--endpoint', 'not a url'])).toContain("got 'not a url'");
    expect(await usage(['init', '--table', 'tokens', '--endpoint', 'ftp://127.0.0.1:8000'])).toContain("(starting with http:// or https://), got 'ftp://127.0.0.1:8000'");
    expect(await usage(['init', '--table', 'tokens', '--endpoint', 'http://127.0.0.1:8000/?x=1'])).toContain('without a query or fragment');
    expect(await usage(['init', '--table', 'tokens', '--region', 'EU West'])).toContain("--region must be an AWS region name such as eu-west-1");
  });

  it('never echoes credentials put into an endpoint URL', async () => {
    const stderr = await usage(['init', '--table', 'tokens', '--endpoint', 'https://AKIAEXAMPLE:s3cr3t@dynamodb.example']);
    expect(stderr).toContain('--endpoint must not contain a user name or password');
    expect(stderr).not.toContain('s3cr3t');
    expect(stderr).not.toContain('AKIAEXAMPLE');
  });

  it('reports every bad flag at once', async () => {
    const stderr = await usage(['status', '--table', 'x', '--endpoint', 'nope']);
    expect(stderr).toContain('--table must be');
    expect(stderr).toContain('--key is required');
    expect(stderr).toContain('--endpoint must be');
  });
});

describe('parseCommandLine', () => {
  it('returns validated targets with defaults', () => {
    expect(parseCommandLine(['status', '--table', 'baton-tokens', '--key', 'chat-bot', '--json'])).toEqual({
      kind: 'status',
      target: { tableName: 'baton-tokens', partitionKey: 'pk', endpoint: undefined, region: undefined },
      key: 'chat-bot',
      json: true,
    });
    expect(parseCommandLine(['init', '--table=t.1', '--endpoint=http://localhost:8000', '--region', 'local', '--partition-key', 'name'])).toEqual({
      kind: 'init',
      target: { tableName: 't.1', partitionKey: 'name', endpoint: 'http://localhost:8000', region: 'local' },
    });
    expect(parseCommandLine(['invalidate', '--key', '--dash-key', '--table', 'tokens'])).toMatchObject({ kind: 'usage-error' });
    expect(parseCommandLine(['invalidate', '--key=--dash-key', '--table', 'tokens'])).toMatchObject({ kind: 'invalidate', key: '--dash-key' });
  });
});
