/**
 * The `baton` command line: commands, flags, help texts and exit codes, and a strict parser that
 * never throws (a bad command line comes back as `{ kind: 'usage-error' }` naming the flag).
 */
import { parseArgs as parseNodeArgs } from 'node:util';
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '../machine/config.js';
import { DEFAULT_PARTITION_KEY } from '../runtime/dynamodb-store.js';
import { RECORD_ATTRIBUTE_NAMES } from '../runtime/record-codec.js';

/**
 * Exit codes scripts can rely on. Documented in `baton --help` and the README.
 *
 * @example
 * ```ts
 * if ((await runCli(['status', '--table', 't', '--key', 'k'], io)) === EXIT_CODES.notFound) console.log('no token yet');
 * ```
 */
export const EXIT_CODES = {
  /** The command did what it says (including "already exists" and "already invalidated"). */
  ok: 0,
  /** The operation failed: DynamoDB unreachable or throttled, an unreadable item, an unexpected error. */
  failed: 1,
  /** Bad command line: unknown command or flag, missing or malformed value. */
  usage: 2,
  /** The item does not exist (`status`, `invalidate`). */
  notFound: 3,
  /** The item changed between read and write: the generation moved on, nothing was invalidated. */
  changed: 4,
  /** Misconfigured: table missing, access denied, wrong key schema, no credentials or no region. */
  misconfigured: 5,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The commands, in help order. */
export const COMMANDS = ['init', 'status', 'invalidate'] as const;
/** One of {@link COMMANDS}. */
export type CommandName = (typeof COMMANDS)[number];

/** Region used with `--endpoint` when neither `--region` nor `AWS_REGION` says one (emulators ignore it; the SDK needs one). */
export const LOCAL_REGION_DEFAULT = 'us-east-1';

/** DynamoDB's limits, the same the store checks at construction. */
const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
const KEY_LENGTH_MAX_BYTES = 2048;
const ATTRIBUTE_NAME_LENGTH_MAX_BYTES = 255;
/** AWS region names, loosely (`eu-west-1`, `us-gov-east-1`, `local` for emulators); the same rule as the Lambda config. */
const REGION_PATTERN = /^[a-z0-9-]{2,32}$/;

/** Where the table is, as given on the command line (validated). */
export interface TableTarget {
  readonly tableName: string;
  /** Name of the table's string partition-key attribute. */
  readonly partitionKey: string;
  /** `--endpoint`, if given (a validated http(s) URL). */
  readonly endpoint: string | undefined;
  /** `--region`, if given. */
  readonly region: string | undefined;
}

/** What a command line asks for. */
export type ParsedCommandLine =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string }
  | { readonly kind: 'init'; readonly target: TableTarget }
  | { readonly kind: 'status'; readonly target: TableTarget; readonly key: string; readonly json: boolean }
  | { readonly kind: 'invalidate'; readonly target: TableTarget; readonly key: string };

type FlagName = 'table' | 'key' | 'endpoint' | 'region' | 'partition-key' | 'json' | 'help';

interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder shown in help, for string flags. */
  readonly value?: string;
  readonly help: string;
}

const FLAGS: Readonly<Record<FlagName, FlagSpec>> = {
  table: { type: 'string', value: 'NAME', help: 'DynamoDB table holding the token item (BATON_TABLE of the Lambda); required' },
  key: { type: 'string', value: 'KEY', help: "partition-key value of the token's item (BATON_KEY of the Lambda); required" },
  endpoint: {
    type: 'string',
    value: 'URL',
    help: 'DynamoDB endpoint, e.g. http://localhost:8000 for DynamoDB Local; default: the regional AWS endpoint',
  },
  region: { type: 'string', value: 'REGION', help: `AWS region; default: AWS_REGION, AWS_DEFAULT_REGION, your AWS profile (${LOCAL_REGION_DEFAULT} with --endpoint)` },
  'partition-key': {
    type: 'string',
    value: 'NAME',
    help: `name of the table's partition-key attribute (BATON_PARTITION_KEY of the Lambda); default ${DEFAULT_PARTITION_KEY}`,
  },
  json: { type: 'boolean', help: 'print one JSON object (for scripts) instead of text' },
  help: { type: 'boolean', short: 'h', help: 'this text' },
};

interface CommandSpec {
  readonly summary: string;
  readonly description: string;
  readonly flags: readonly FlagName[];
  /** Exit codes the command can end with, besides 0 and 2. */
  readonly exitCodes: readonly ExitCode[];
  readonly examples: readonly string[];
}

const CONNECTION_FLAGS = ['endpoint', 'region', 'partition-key'] as const satisfies readonly FlagName[];

const COMMAND_SPECS: Readonly<Record<CommandName, CommandSpec>> = {
  init: {
    summary: 'create the token table (on-demand billing) and wait until it is ACTIVE; idempotent',
    description:
      'Creates the table with one string partition key and on-demand billing, then waits until it is ACTIVE\n' +
      '(up to about a minute). If the table already exists with the right key schema, says so and exits 0.\n' +
      'Needs dynamodb:CreateTable and dynamodb:DescribeTable. The Lambda role needs dynamodb:GetItem and\n' +
      'dynamodb:UpdateItem on the table.',
    flags: ['table', ...CONNECTION_FLAGS, 'help'],
    exitCodes: [EXIT_CODES.failed, EXIT_CODES.misconfigured],
    examples: ['baton init --table baton-tokens --region eu-west-1', 'baton init --table baton-tokens --endpoint http://localhost:8000'],
  },
  status: {
    summary: 'show the item: generation, token fingerprint and expiry, lease, last failure and back-off',
    description:
      'Reads the item (strongly consistent) and shows its generation and revision, the token fingerprint\n' +
      '(never the token), when the token was issued and when it expires, the lease holder and whether the\n' +
      'lease looks stale, the last issuer failure and the back-off remaining, and an operator invalidation.\n' +
      'Times are read on the writers\' clocks; ages are computed with this machine\'s clock. A lease looks stale\n' +
      `once its end plus the default clock-skew allowance (${DEFAULT_MAX_CLOCK_SKEW_MS} ms) has passed. With --json and no item, prints\n` +
      '{"found": false, ...} and exits 3. Needs dynamodb:GetItem.',
    flags: ['table', 'key', ...CONNECTION_FLAGS, 'json', 'help'],
    exitCodes: [EXIT_CODES.failed, EXIT_CODES.notFound, EXIT_CODES.misconfigured],
    examples: ['baton status --table baton-tokens --key chat-bot', 'baton status --table baton-tokens --key chat-bot --json | jq .generation'],
  },
  invalidate: {
    summary: 'mark the stored token as bad: instances that read the item refresh instead of adopting it',
    description:
      'Reads the item (strongly consistent), then records that its current generation is invalidated, with\n' +
      'a write conditioned on that generation: safe while instances are live. If a new token was published\n' +
      'in between, nothing is written and the command exits 4 (someone already refreshed). Afterwards, the\n' +
      'next instances that read the item make one refresh for the fleet instead of adopting the token;\n' +
      'instances that have the token cached keep using it until the chat API rejects it.\n' +
      'Running it again on the same generation changes nothing. Needs dynamodb:GetItem and dynamodb:UpdateItem.',
    flags: ['table', 'key', ...CONNECTION_FLAGS, 'help'],
    exitCodes: [EXIT_CODES.failed, EXIT_CODES.notFound, EXIT_CODES.changed, EXIT_CODES.misconfigured],
    examples: ['baton invalidate --table baton-tokens --key chat-bot'],
  },
};

const EXIT_CODE_TEXT: Readonly<Record<ExitCode, string>> = {
  [EXIT_CODES.ok]: 'ok',
  [EXIT_CODES.failed]: 'the operation failed (DynamoDB unreachable or throttled, unreadable item, unexpected error)',
  [EXIT_CODES.usage]: 'usage error (unknown command or flag, missing or malformed value)',
  [EXIT_CODES.notFound]: 'the item does not exist (no token stored under --key yet, or wrong --key)',
  [EXIT_CODES.changed]: 'the item changed meanwhile (a new token was published): nothing was invalidated',
  [EXIT_CODES.misconfigured]: 'misconfigured: table missing, access denied, wrong key schema, no credentials or region',
};

function flagColumn(name: FlagName): string {
  const spec = FLAGS[name];
  const short = spec.short === undefined ? '' : `, -${spec.short}`;
  return `--${name}${spec.value === undefined ? '' : ` ${spec.value}`}${short}`;
}

function flagLines(names: readonly FlagName[]): string {
  const width = Math.max(...names.map((name) => flagColumn(name).length)) + 2;
  return names.map((name) => `  ${flagColumn(name).padEnd(width)}${FLAGS[name].help}`).join('\n');
}

function exitCodeLines(codes: readonly ExitCode[]): string {
  return [...codes].sort((a, b) => a - b).map((code) => `  ${code}  ${EXIT_CODE_TEXT[code]}`).join('\n');
}

const CREDENTIALS_NOTE =
  'Credentials and region come from the usual AWS chain (environment, profile, SSO, role). With --endpoint on\n' +
  'localhost/127.0.0.1 and no AWS_ACCESS_KEY_ID or AWS_PROFILE, placeholder credentials are used (DynamoDB Local, dynalite).';

/**
 * `baton --help`.
 *
 * @example
 * ```ts
 * process.stdout.write(globalHelp());
 * ```
 */
export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.length)) + 2;
  return `Usage: baton <command> [flags]

Operate the DynamoDB item through which a fleet of instances shares one API token (dynamo-baton).

Commands:
${COMMANDS.map((command) => `  ${command.padEnd(width)}${COMMAND_SPECS[command].summary}`).join('\n')}

Run 'baton <command> --help' for a command's flags. Flags common to every command:
${flagLines(['table', ...CONNECTION_FLAGS])}

Global flags:
  --help, -h   this text
  --version    the dynamo-baton version

Exit codes:
${exitCodeLines(Object.values(EXIT_CODES))}

The token is never printed, only its fingerprint (fp: and the first 10 hex digits of its SHA-256).
${CREDENTIALS_NOTE}

Example:
  baton init --table baton-tokens --region eu-west-1
  baton status --table baton-tokens --key chat-bot --region eu-west-1
`;
}

/**
 * `baton <command> --help`.
 *
 * @example
 * ```ts
 * process.stdout.write(commandHelp('status'));
 * ```
 */
export function commandHelp(command: CommandName): string {
  const spec = COMMAND_SPECS[command];
  const usage = spec.flags
    .filter((flag) => flag !== 'help')
    .map((flag) => (flag === 'table' || flag === 'key' ? flagColumn(flag) : `[${flagColumn(flag)}]`))
    .join(' ');
  return `Usage: baton ${command} ${usage}

${spec.description}

Flags:
${flagLines(spec.flags)}

Exit codes:
${exitCodeLines([EXIT_CODES.ok, EXIT_CODES.usage, ...spec.exitCodes])}

${CREDENTIALS_NOTE}

Example${spec.examples.length > 1 ? 's' : ''}:
${spec.examples.map((example) => `  ${example}`).join('\n')}
`;
}

/**
 * Parses and validates a command line (without `node` and the script path). Never throws.
 *
 * @example
 * ```ts
 * parseCommandLine(['status', '--table', 'baton-tokens', '--key', 'chat-bot']);
 * // { kind: 'status', target: { tableName: 'baton-tokens', partitionKey: 'pk', endpoint: undefined, region: undefined }, key: 'chat-bot', json: false }
 * ```
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const [first, ...rest] = argv;
  if (first === undefined) return usageError('no command given; commands: init, status, invalidate', 'baton --help');
  if (first === '--help' || first === '-h') return { kind: 'help', text: globalHelp() };
  if (first === '--version') return { kind: 'version' };
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) return { kind: 'help', text: globalHelp() };
    if (!isCommand(topic)) return usageError(`unknown command '${topic}'; commands: ${COMMANDS.join(', ')}`, 'baton --help');
    return { kind: 'help', text: commandHelp(topic) };
  }
  if (first.startsWith('-')) {
    return usageError(`${quoteArg(first)} is not a command; the command comes first (commands: ${COMMANDS.join(', ')}), then its flags`, 'baton --help');
  }
  if (!isCommand(first)) return usageError(`unknown command '${first}'; commands: ${COMMANDS.join(', ')}`, 'baton --help');
  return parseCommand(first, rest);
}

function isCommand(word: string): word is CommandName {
  return (COMMANDS as readonly string[]).includes(word);
}

function usageError(message: string, helpCommand: string): ParsedCommandLine {
  return { kind: 'usage-error', message: `${message}\nRun '${helpCommand}' for usage.` };
}

function parseCommand(command: CommandName, args: readonly string[]): ParsedCommandLine {
  const spec = COMMAND_SPECS[command];
  const helpCommand = `baton ${command} --help`;
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const flag of spec.flags) {
    const { type, short } = FLAGS[flag];
    options[flag] = short === undefined ? { type } : { type, short };
  }
  let parsed: ReturnType<typeof parseNodeArgs>;
  try {
    parsed = parseNodeArgs({ args: [...args], options, strict: true, allowPositionals: false, tokens: true });
  } catch (error) {
    return usageError(describeParseError(command, error), helpCommand);
  }
  const values = parsed.values as Partial<Record<FlagName, string | boolean>>;
  if (values.help === true) return { kind: 'help', text: commandHelp(command) };

  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) return usageError(`--${token.name} was given more than once`, helpCommand);
    seen.add(token.name);
  }

  const text = (flag: FlagName): string | undefined => (typeof values[flag] === 'string' ? values[flag] : undefined);
  const problems: string[] = [];
  const tableName = text('table');
  if (tableName === undefined) problems.push(`--table is required: ${FLAGS.table.help.replace(/; required$/, '')}`);
  else if (!TABLE_NAME_PATTERN.test(tableName)) {
    problems.push(`--table must be a DynamoDB table name (3 to 255 characters among a-z, A-Z, 0-9, '_', '-' and '.'), got ${quoteArg(tableName)}`);
  }
  let key: string | undefined;
  if (spec.flags.includes('key')) {
    key = text('key');
    if (key === undefined) problems.push(`--key is required: ${FLAGS.key.help.replace(/; required$/, '')}`);
    else if (key.length === 0 || Buffer.byteLength(key) > KEY_LENGTH_MAX_BYTES) {
      problems.push(`--key must be a non-empty string of at most ${KEY_LENGTH_MAX_BYTES} bytes`);
    }
  }
  const partitionKey = text('partition-key') ?? DEFAULT_PARTITION_KEY;
  if (partitionKey.length === 0 || Buffer.byteLength(partitionKey) > ATTRIBUTE_NAME_LENGTH_MAX_BYTES) {
    problems.push(`--partition-key must be an attribute name of 1 to ${ATTRIBUTE_NAME_LENGTH_MAX_BYTES} bytes, got ${quoteArg(partitionKey)}`);
  } else if (RECORD_ATTRIBUTE_NAMES.includes(partitionKey)) {
    problems.push(`--partition-key must not be one of the attribute names Baton stores in the item (${RECORD_ATTRIBUTE_NAMES.join(', ')}), got ${quoteArg(partitionKey)}`);
  }
  const endpoint = text('endpoint');
  const endpointProblem = endpoint === undefined ? undefined : checkEndpoint(endpoint);
  if (endpointProblem !== undefined) problems.push(endpointProblem);
  const region = text('region');
  if (region !== undefined && !REGION_PATTERN.test(region)) {
    problems.push(`--region must be an AWS region name such as eu-west-1 (lowercase letters, digits and dashes), got ${quoteArg(region)}`);
  }
  // Every line gets the `baton:` prefix from the caller's first line, so each problem reads alike.
  if (problems.length > 0) return usageError(problems.join('\nbaton: '), helpCommand);

  const target: TableTarget = { tableName: tableName as string, partitionKey, endpoint, region };
  if (command === 'init') return { kind: 'init', target };
  if (command === 'status') return { kind: 'status', target, key: key as string, json: values.json === true };
  return { kind: 'invalidate', target, key: key as string };
}

/** An http(s) URL without credentials, query or fragment; the URL is never echoed if it holds credentials. */
function checkEndpoint(raw: string): string | undefined {
  const expected = 'an http(s) URL such as http://localhost:8000 or https://dynamodb.eu-west-1.amazonaws.com';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `--endpoint must be ${expected}, got ${quoteArg(raw)}`;
  }
  if (url.username !== '' || url.password !== '') {
    return '--endpoint must not contain a user name or password (credentials come from the AWS chain: environment, profile, role)';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `--endpoint must be ${expected} (starting with http:// or https://), got ${quoteArg(raw)}`;
  if (url.search !== '' || url.hash !== '') return `--endpoint must be ${expected} without a query or fragment, got ${quoteArg(raw)}`;
  return undefined;
}

/** Rewrites Node's parser errors into one line naming the flag. */
function describeParseError(command: CommandName, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const named = /'(-[^' ]*)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && named !== undefined) {
    const allowed = COMMAND_SPECS[command].flags.map((flag) => `--${flag}`).join(', ');
    return `unknown flag ${named} for 'baton ${command}' (its flags: ${allowed})`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && named !== undefined) {
    if (/does not take an argument/.test(message)) return `${named} takes no value`;
    return `${named} needs a value${/ambiguous/.test(message) ? ' (the next argument looks like a flag; to pass a value starting with a dash, write --flag=-value)' : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const positional = /'([^']*)'/.exec(message)?.[1];
    return `unexpected argument${positional === undefined ? '' : ` ${quoteArg(positional)}`}: 'baton ${command}' takes only flags (did you forget a flag name before it?)`;
  }
  return `invalid command line: ${message}`;
}

/** A command-line value, quoted for messages. */
function quoteArg(value: string): string {
  return `'${value.replace(/[\u0000-\u001f\u007f]/g, '?')}'`;
}

/**
 * The shell command line that runs `command` against `target` (for hints in error messages).
 *
 * @example
 * ```ts
 * commandLine('init', { tableName: 'baton', partitionKey: 'pk', endpoint: undefined, region: 'eu-west-1' });
 * // 'baton init --table baton --region eu-west-1'
 * ```
 */
export function commandLine(command: CommandName, target: TableTarget, key?: string): string {
  const parts = ['baton', command, '--table', target.tableName];
  if (key !== undefined) parts.push('--key', key);
  if (target.endpoint !== undefined) parts.push('--endpoint', target.endpoint);
  if (target.region !== undefined) parts.push('--region', target.region);
  if (target.partitionKey !== DEFAULT_PARTITION_KEY) parts.push('--partition-key', target.partitionKey);
  return parts.map(shellQuote).join(' ');
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_.,:/=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
