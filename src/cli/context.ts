/**
 * What every `baton` command gets (client, output, clock), the default DynamoDB client, and the
 * translation of errors into a message that says how to fix the problem plus an exit code.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ClientLocation } from '../runtime/dynamodb-store.js';
import { errorName } from '../runtime/dynamodb-store.js';
import { BatonError, InvalidOptionsError, RecordInvalidError, StoreMisconfiguredError, StoreUnavailableError } from '../runtime/errors.js';
import { EXIT_CODES, LOCAL_REGION_DEFAULT, commandLine } from './args.js';
import type { CommandName, ExitCode, TableTarget } from './args.js';

/** Anything with `write(text)`: `process.stdout`, or a collector in tests. */
export interface CliOutput {
  write(text: string): unknown;
}

/** What the DynamoDB client must be configured with. */
export interface CliClientConfig {
  /** `--region`, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else us-east-1 with `--endpoint`; `undefined` leaves it to the SDK (profile). */
  readonly region: string | undefined;
  /** `--endpoint`, if given. */
  readonly endpoint: string | undefined;
  /** The environment `runCli` was given. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Makes the DynamoDB client of one command run. `runCli` destroys it when the command ends. */
export type CliClientFactory = (config: CliClientConfig) => DynamoDBClient;

/**
 * Dependencies of {@link runCli}.
 *
 * @example
 * ```ts
 * const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };
 * ```
 */
export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Makes the DynamoDB client.
   * @defaultValue {@link createDefaultClient}
   */
  readonly clientFactory?: CliClientFactory;
  /**
   * The clock used for ages and remaining times (epoch ms).
   * @defaultValue `Date.now`
   */
  readonly now?: () => number;
}

/** What a command's `run` gets. */
export interface CommandContext {
  readonly client: DynamoDBClient;
  readonly target: TableTarget;
  /** Where the client sends its requests (never holds credentials). */
  readonly location: ClientLocation;
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly now: () => number;
}

/** Connect and per-request timeouts of the default client, so a black-holed endpoint fails instead of hanging. */
export const CONNECTION_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 15_000;

/** Placeholder credentials for local emulators (the SDK insists on some). */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The region a command uses: `--region`, then `AWS_REGION`, then `AWS_DEFAULT_REGION`, then
 * us-east-1 if an endpoint is given; `undefined` lets the SDK look in the AWS profile.
 *
 * @example
 * ```ts
 * resolveRegion({ tableName: 't', partitionKey: 'pk', endpoint: 'http://localhost:8000', region: undefined }, {}); // 'us-east-1'
 * ```
 */
export function resolveRegion(target: TableTarget, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const fromEnv = [env['AWS_REGION'], env['AWS_DEFAULT_REGION']].find((region) => region !== undefined && region.length > 0);
  return target.region ?? fromEnv ?? (target.endpoint === undefined ? undefined : LOCAL_REGION_DEFAULT);
}

/**
 * The client `baton` uses unless told otherwise: the usual AWS credential chain, bounded
 * timeouts, and placeholder credentials for an endpoint on this machine when the environment
 * names no credentials (DynamoDB Local and dynalite accept anything).
 *
 * @example
 * ```ts
 * const client = createDefaultClient({ region: 'eu-west-1', endpoint: undefined, env: process.env });
 * ```
 */
export function createDefaultClient(config: CliClientConfig): DynamoDBClient {
  const local = config.endpoint !== undefined && LOOPBACK_HOSTS.has(new URL(config.endpoint).hostname);
  const namesCredentials = config.env['AWS_ACCESS_KEY_ID'] !== undefined || config.env['AWS_PROFILE'] !== undefined;
  return new DynamoDBClient({
    ...(config.region === undefined ? {} : { region: config.region }),
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    ...(local && !namesCredentials ? { credentials: LOCAL_CREDENTIALS } : {}),
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
  });
}

/** An error turned into what the user reads and the exit code. */
export interface CliFailure {
  readonly exitCode: ExitCode;
  /** Lines for stderr; never contains a token (Baton's messages never do). */
  readonly message: string;
}

const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']);

/**
 * Translates an error thrown by a command into a message with a fix and an exit code.
 *
 * @example
 * ```ts
 * const { exitCode, message } = describeFailure(error, 'status', target, 'chat-bot');
 * ```
 */
export function describeFailure(error: unknown, command: CommandName, target: TableTarget, key: string | undefined): CliFailure {
  const cause = error instanceof Error ? error.cause : undefined;
  if (error instanceof StoreMisconfiguredError) {
    const hints: string[] = [];
    const causeName = errorName(cause);
    if (causeName === 'ResourceNotFoundException') hints.push(`create the table with: ${commandLine('init', target)}`);
    const tableKey = /pass partitionKey: ("[^"]*") to use it/.exec(error.message)?.[1];
    if (tableKey !== undefined) hints.push(`to use that table, run again with --partition-key ${JSON.parse(tableKey) as string}`);
    else if (causeName === 'ValidationException' && /key schema/.test(error.message)) {
      hints.push("pass --partition-key with the name of the table's partition-key attribute (BATON_PARTITION_KEY of the Lambda)");
    }
    if (causeName === 'CredentialsProviderError' || /credentials were not accepted/.test(error.message)) {
      hints.push('set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN for temporary credentials)');
    }
    return { exitCode: EXIT_CODES.misconfigured, message: withHints(error.message, hints) };
  }
  if (error instanceof StoreUnavailableError) {
    const hints: string[] = [];
    if (unreachable(error)) {
      hints.push(
        target.endpoint === undefined
          ? `check the network and the region (${target.region ?? 'from AWS_REGION or your profile'})`
          : `check that --endpoint ${target.endpoint} is the right URL and that DynamoDB is listening there`,
      );
    }
    if (command === 'invalidate' && key !== undefined && /may or may not have been applied/.test(error.message)) {
      hints.push(`see whether it was applied (invalidated = the current generation) with: ${commandLine('status', target, key)}`);
    }
    return { exitCode: EXIT_CODES.failed, message: withHints(error.message, hints) };
  }
  if (error instanceof RecordInvalidError) return { exitCode: EXIT_CODES.failed, message: error.message };
  if (error instanceof InvalidOptionsError) return { exitCode: EXIT_CODES.usage, message: error.message };
  if (error instanceof BatonError) return { exitCode: EXIT_CODES.failed, message: `${error.message} (${error.code})` };
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { exitCode: EXIT_CODES.failed, message: `unexpected error: ${text}\nPlease report this at the dynamo-baton repository, with the command line.` };
}

function unreachable(error: Error): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
    if (current.name === 'TimeoutError') return true;
  }
  return false;
}

function withHints(message: string, hints: readonly string[]): string {
  return [message, ...hints.map((hint) => `hint: ${hint}`)].join('\n');
}
