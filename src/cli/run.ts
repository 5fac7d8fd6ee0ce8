/**
 * The `baton` CLI as a function: `runCli(argv, io)` parses the command line, runs one command
 * against DynamoDB and resolves to the exit code. `main.ts` only wires it to the process.
 */
import { readFile } from 'node:fs/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resolveClientLocation } from '../runtime/dynamodb-store.js';
import { EXIT_CODES, parseCommandLine } from './args.js';
import type { ExitCode } from './args.js';
import { runInit } from './commands/init.js';
import { runInvalidate } from './commands/invalidate.js';
import { runStatus } from './commands/status.js';
import { createDefaultClient, describeFailure, resolveRegion } from './context.js';
import type { CliIo, CommandContext } from './context.js';

export type { CliClientConfig, CliClientFactory, CliIo, CliOutput } from './context.js';
export { EXIT_CODES } from './args.js';
export type { ExitCode } from './args.js';

/**
 * Runs one `baton` command line (without `node` and the script path) and resolves to its exit
 * code (see {@link EXIT_CODES}). Never rejects, never calls `process.exit`, and never writes a
 * token: only fingerprints. The client made by `io.clientFactory` is destroyed before it resolves.
 *
 * @example
 * ```ts
 * const exitCode = await runCli(['status', '--table', 'baton-tokens', '--key', 'chat-bot', '--json'], {
 *   stdout: process.stdout, stderr: process.stderr, env: process.env,
 * });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const parsed = parseCommandLine(argv);
  switch (parsed.kind) {
    case 'help':
      io.stdout.write(parsed.text);
      return EXIT_CODES.ok;
    case 'version':
      io.stdout.write(`${await packageVersion()}\n`);
      return EXIT_CODES.ok;
    case 'usage-error':
      io.stderr.write(`baton: ${parsed.message}\n`);
      return EXIT_CODES.usage;
    default:
      break;
  }

  const { target } = parsed;
  const key = parsed.kind === 'init' ? undefined : parsed.key;
  let client: DynamoDBClient | undefined;
  try {
    client = (io.clientFactory ?? createDefaultClient)({ region: resolveRegion(target, io.env), endpoint: target.endpoint, env: io.env });
    if (!(await hasRegion(client))) {
      io.stderr.write(
        `baton ${parsed.kind}: no AWS region is configured: pass --region (e.g. --region eu-west-1), set AWS_REGION, ` +
          'or set a region in your AWS profile\n',
      );
      return EXIT_CODES.misconfigured;
    }
    const context: CommandContext = {
      client,
      target,
      location: await resolveClientLocation(client),
      stdout: io.stdout,
      stderr: io.stderr,
      now: io.now ?? Date.now,
    };
    if (parsed.kind === 'init') return await runInit(context);
    if (parsed.kind === 'status') return await runStatus(context, { key: parsed.key, json: parsed.json });
    return await runInvalidate(context, { key: parsed.key });
  } catch (error) {
    const failure = describeFailure(error, parsed.kind, target, key);
    io.stderr.write(`baton ${parsed.kind}: ${failure.message}\n`);
    return failure.exitCode;
  } finally {
    client?.destroy();
  }
}

async function hasRegion(client: DynamoDBClient): Promise<boolean> {
  const region = (client.config as { region?: unknown }).region;
  try {
    const resolved = typeof region === 'function' ? await (region as () => Promise<unknown>)() : region;
    return typeof resolved === 'string' && resolved.length > 0;
  } catch {
    return false;
  }
}

/** The version in dynamo-baton's package.json (two levels up from both `src/cli` and `dist/cli`). */
async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}
