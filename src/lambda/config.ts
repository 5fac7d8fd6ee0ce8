/**
 * The bot Lambda's configuration, read from environment variables once per cold start. Every
 * problem is collected into one {@link BotConfigError}, so a broken deployment is fixed in one
 * round. Error messages never echo a variable's value: an operator may have pasted the secret
 * into the wrong variable.
 */
import { LEASE_MS_MAX, LEASE_MS_MIN } from '../runtime/options.js';

/** Region used with a custom `DYNAMODB_ENDPOINT` (DynamoDB Local ignores it, the SDK needs one). */
export const LOCAL_REGION_DEFAULT = 'us-east-1';
/** Attribute name of the table's partition key when `BATON_PARTITION_KEY` is unset. */
export const PARTITION_KEY_DEFAULT = 'pk';
/** How long one invocation may spend getting a token and replying, when `BOT_REPLY_DEADLINE_MS` is unset. */
export const REPLY_DEADLINE_MS_DEFAULT = 10_000;
/** Largest accepted `BOT_REPLY_DEADLINE_MS`: a Lambda runs 15 minutes at most. */
export const DURATION_MS_MAX = 15 * 60 * 1000;
/** Longest accepted `BATON_KEY`, in characters (DynamoDB allows 2048 bytes; stay well below). */
export const ITEM_KEY_CHARS_MAX = 1024;

/** DynamoDB table names: 3..255 of these characters. */
const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
/** AWS region names, loosely (`eu-west-1`, `us-gov-east-1`, and `local` for emulators). */
const REGION_PATTERN = /^[a-z0-9-]{2,32}$/;
/** Plain decimal digits: `Number('1e3')` or `Number(' 5 ')` would also parse, but is surely a typo. */
const DIGITS_PATTERN = /^\d{1,15}$/;

/** Stable code of {@link BotConfigError}. */
export const BOT_CONFIG_INVALID = 'BOT_CONFIG_INVALID' as const;

/**
 * The environment variables the bot reads.
 *
 * @example
 * ```ts
 * const env: BotEnv = process.env;
 * ```
 */
export type BotEnv = Readonly<Record<string, string | undefined>>;

/**
 * Validated bot configuration.
 *
 * @example
 * ```ts
 * const config: BotConfig = loadBotConfig(process.env);
 * ```
 */
export interface BotConfig {
  /** Base URL of the chat API (`CHAT_API_URL`), http or https. */
  readonly chatApiUrl: string;
  /** Secret sent to `POST /auth` (`CHAT_AUTH_SECRET`). Never log it. */
  readonly chatAuthSecret: string;
  /** DynamoDB table holding the shared item (`BATON_TABLE`). */
  readonly tableName: string;
  /** Partition key value of the shared item (`BATON_KEY`). */
  readonly itemKey: string;
  /**
   * Partition key attribute name (`BATON_PARTITION_KEY`).
   * @defaultValue 'pk'
   */
  readonly partitionKey: string;
  /**
   * AWS region (`AWS_REGION`).
   * @defaultValue 'us-east-1' when `DYNAMODB_ENDPOINT` is set; otherwise required
   */
  readonly region: string;
  /**
   * Custom DynamoDB endpoint (`DYNAMODB_ENDPOINT`), e.g. DynamoDB Local.
   * @defaultValue the regional AWS endpoint
   */
  readonly dynamodbEndpoint?: string;
  /**
   * Refresh lease length (`BATON_LEASE_MS`), 100..900 000 ms.
   * @defaultValue the coordinator's default
   */
  readonly leaseMs?: number;
  /**
   * Longest time one invocation spends getting a token and replying (`BOT_REPLY_DEADLINE_MS`).
   * @defaultValue 10_000
   */
  readonly replyDeadlineMs: number;
}

/**
 * One problem with one environment variable.
 *
 * @example
 * ```ts
 * const problem: BotConfigProblem = { variable: 'BATON_TABLE', problem: 'is missing', example: 'baton-tokens' };
 * ```
 */
export interface BotConfigProblem {
  /** The variable's name. */
  readonly variable: string;
  /** What is wrong with it (never its value). */
  readonly problem: string;
  /** An example of a valid value. */
  readonly example: string;
}

/**
 * The environment does not describe a usable bot. `problems` lists every variable at fault; the
 * message lists them too, one per line, with an example value each.
 *
 * @example
 * ```ts
 * try { loadBotConfig(process.env); } catch (error) {
 *   if (error instanceof BotConfigError) console.error(error.problems.map((p) => p.variable));
 * }
 * ```
 */
export class BotConfigError extends Error {
  /** Always {@link BOT_CONFIG_INVALID}. */
  readonly code = BOT_CONFIG_INVALID;
  /** Every problem found. */
  readonly problems: readonly BotConfigProblem[];

  constructor(problems: readonly BotConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.variable} ${p.problem}; example: ${p.variable}=${p.example}`);
    super(`the bot's environment is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}); set:\n${lines.join('\n')}`);
    this.name = 'BotConfigError';
    this.problems = problems;
  }
}

const EXAMPLES = {
  CHAT_API_URL: 'https://chat.example.com',
  CHAT_AUTH_SECRET: '<the secret issued by the chat service>',
  BATON_TABLE: 'baton-tokens',
  BATON_KEY: 'chat-bot-token',
  BATON_PARTITION_KEY: PARTITION_KEY_DEFAULT,
  DYNAMODB_ENDPOINT: 'http://localhost:8000',
  AWS_REGION: 'eu-west-1',
  BATON_LEASE_MS: '10000',
  BOT_REPLY_DEADLINE_MS: String(REPLY_DEADLINE_MS_DEFAULT),
} as const;

type Variable = keyof typeof EXAMPLES;

/**
 * Reads and validates the bot's configuration from `env`. Empty optional variables count as
 * unset (deployment templates often render missing values as `""`).
 *
 * @throws {@link BotConfigError} listing every missing or invalid variable.
 * @example
 * ```ts
 * export const handler = createHandler(loadBotConfig(process.env));
 * ```
 */
export function loadBotConfig(env: BotEnv): BotConfig {
  const problems: BotConfigProblem[] = [];
  const report = (variable: Variable, problem: string): undefined => {
    problems.push({ variable, problem, example: EXAMPLES[variable] });
    return undefined;
  };
  const optional = (variable: Variable): string | undefined => {
    const value = env[variable];
    return value === undefined || value.trim() === '' ? undefined : value;
  };
  const required = (variable: Variable): string | undefined => optional(variable) ?? report(variable, 'is missing or empty');

  const url = (variable: Variable, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value.trim());
    } catch {
      return report(variable, 'is not a valid absolute URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return report(variable, `must use http or https, not ${parsed.protocol.slice(0, 16)}`);
    // Credentials in a URL end up in logs and error messages; the secret has its own variable.
    if (parsed.username !== '' || parsed.password !== '') return report(variable, 'must not contain credentials (user:password@)');
    return parsed.toString().replace(/\/+$/, '');
  };
  const durationMs = (variable: Variable, value: string | undefined, msMin: number, msMax: number): number | undefined => {
    if (value === undefined) return undefined;
    const trimmed = value.trim();
    if (!DIGITS_PATTERN.test(trimmed)) return report(variable, 'is not a whole number of milliseconds (digits only)');
    const ms = Number(trimmed);
    if (ms < msMin || ms > msMax) return report(variable, `must be between ${msMin} and ${msMax} milliseconds`);
    return ms;
  };
  const matching = (variable: Variable, value: string | undefined, pattern: RegExp, rule: string): string | undefined => {
    if (value === undefined) return undefined;
    return pattern.test(value) ? value : report(variable, rule);
  };

  const chatApiUrl = url('CHAT_API_URL', required('CHAT_API_URL'));
  const chatAuthSecret = required('CHAT_AUTH_SECRET');
  const tableName = matching('BATON_TABLE', required('BATON_TABLE'), TABLE_NAME_PATTERN, 'must be 3..255 characters from [A-Za-z0-9_.-]');
  const itemKeyRaw = required('BATON_KEY');
  const itemKey = itemKeyRaw !== undefined && itemKeyRaw.length > ITEM_KEY_CHARS_MAX ? report('BATON_KEY', `is longer than ${ITEM_KEY_CHARS_MAX} characters`) : itemKeyRaw;
  const partitionKeyRaw = optional('BATON_PARTITION_KEY');
  const partitionKey =
    partitionKeyRaw !== undefined && partitionKeyRaw.length > 255 ? report('BATON_PARTITION_KEY', 'is longer than 255 characters') : (partitionKeyRaw ?? PARTITION_KEY_DEFAULT);
  const dynamodbEndpoint = url('DYNAMODB_ENDPOINT', optional('DYNAMODB_ENDPOINT'));
  const regionRaw =
    optional('AWS_REGION') ??
    (optional('DYNAMODB_ENDPOINT') === undefined ? report('AWS_REGION', 'is missing (required unless DYNAMODB_ENDPOINT is set)') : LOCAL_REGION_DEFAULT);
  const region = matching('AWS_REGION', regionRaw, REGION_PATTERN, 'is not a region name (lowercase letters, digits and dashes)');
  // The coordinator's own bounds, checked here so a bad lease fails with every other problem.
  const leaseMs = durationMs('BATON_LEASE_MS', optional('BATON_LEASE_MS'), LEASE_MS_MIN, LEASE_MS_MAX);
  const replyDeadlineMs = durationMs('BOT_REPLY_DEADLINE_MS', optional('BOT_REPLY_DEADLINE_MS'), 1, DURATION_MS_MAX) ?? REPLY_DEADLINE_MS_DEFAULT;

  if (
    problems.length > 0 ||
    chatApiUrl === undefined ||
    chatAuthSecret === undefined ||
    tableName === undefined ||
    itemKey === undefined ||
    partitionKey === undefined ||
    region === undefined
  ) {
    throw new BotConfigError(problems);
  }
  return {
    chatApiUrl,
    chatAuthSecret,
    tableName,
    itemKey,
    partitionKey,
    region,
    ...(dynamodbEndpoint === undefined ? {} : { dynamodbEndpoint }),
    ...(leaseMs === undefined ? {} : { leaseMs }),
    replyDeadlineMs,
  };
}
