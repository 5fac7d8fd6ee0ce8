import { parseArgs as parseNodeArgs } from 'node:util';
import { SEED_MAX } from './rng.js';

/** Options of one demo run, after validation. */
export interface DemoOptions {
  /** Most Lambda-like instances (worker processes) alive at once. */
  readonly instances: number;
  /** Webhooks the fake chat service delivers. */
  readonly messages: number;
  /** Incidents injected during the run (alternating `invalidate` and `expire`). */
  readonly incidents: number;
  /** Seed of every random choice the demo makes. */
  readonly seed: number;
  /** External DynamoDB endpoint; embedded dynalite when absent. */
  readonly endpoint: string | undefined;
  /** Where the JSON report goes. */
  readonly jsonPath: string;
  /** Where the HTML timeline goes. */
  readonly htmlPath: string;
  /** Where every forwarded event goes, one JSON object a line (fingerprints only). */
  readonly eventsPath: string;
  /** Latency of `POST /auth` at the fake chat API. */
  readonly authLatencyMs: number;
  /** Latency of posting one message at the fake chat API. */
  readonly messageLatencyMs: number;
  /** Time over which the webhooks are spread. */
  readonly spreadMs: number;
}

/** What the command line asks for. */
export type ParsedArgs =
  | { readonly kind: 'run'; readonly options: DemoOptions }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'error'; readonly message: string };

/** Exit code for a bad command line. */
export const EXIT_USAGE = 2;

/** Allowed range and default of each numeric flag. */
export const NUMERIC_FLAGS = {
  instances: { min: 1, max: 64, default: 20 },
  messages: { min: 1, max: 100_000, default: 2_000 },
  incidents: { min: 0, max: 100, default: 6 },
  seed: { min: 0, max: SEED_MAX, default: 1 },
  'auth-latency-ms': { min: 0, max: 5_000, default: 300 },
  'message-latency-ms': { min: 0, max: 2_000, default: 20 },
  'spread-ms': { min: 0, max: 600_000, default: undefined },
} as const;

type NumericFlag = keyof typeof NUMERIC_FLAGS;

/** Default spread per message: 2 000 messages take about 55 s. */
export const SPREAD_PER_MESSAGE_MS = 27.5;
/** Shortest default spread, so small runs still have traffic before, between and after incidents. */
export const SPREAD_MIN_MS = 10_000;
/** Least time between two incidents (longer than the coordinator's 2 s fresh-token alarm window). */
export const INCIDENT_GAP_MS_MIN = 3_000;
/** Default report path. */
export const DEFAULT_JSON_PATH = 'reports/demo.json';
/** File name of the timeline, written next to the JSON report unless `--html` says otherwise. */
export const TIMELINE_FILE_NAME = 'demo-timeline.html';
/** File name of the event log, written next to the JSON report. */
export const EVENTS_FILE_NAME = 'demo-events.jsonl';

/** Text printed by `--help`. */
export const HELP_TEXT = `Usage: npm run demo -- [flags]

Runs N Lambda-like worker processes that share one chat-API token through one DynamoDB item,
delivers M webhooks to them, injects incidents, and reports how the fleet converged.

Flags:
  --instances N           most worker processes at once (${range('instances')}, default ${NUMERIC_FLAGS.instances.default})
  --messages M            webhooks to deliver (${range('messages')}, default ${NUMERIC_FLAGS.messages.default})
  --incidents K           incidents to inject (${range('incidents')}, default ${NUMERIC_FLAGS.incidents.default})
  --seed S                seed of every random choice (${range('seed')}, default ${NUMERIC_FLAGS.seed.default})
  --endpoint URL          external DynamoDB endpoint (http://127.0.0.1:PORT); default: embedded dynalite
  --json PATH             JSON report (default ${DEFAULT_JSON_PATH}); the timeline goes next to it
  --html PATH             HTML timeline (default: ${TIMELINE_FILE_NAME} next to the JSON report;
                          every protocol event also goes to ${EVENTS_FILE_NAME} there)
  --auth-latency-ms MS    latency of POST /auth (${range('auth-latency-ms')}, default ${NUMERIC_FLAGS['auth-latency-ms'].default})
  --message-latency-ms MS latency of one message post (${range('message-latency-ms')}, default ${NUMERIC_FLAGS['message-latency-ms'].default})
  --spread-ms MS          time over which webhooks arrive (${range('spread-ms')}, default ${SPREAD_PER_MESSAGE_MS} ms per message, at least ${SPREAD_MIN_MS})
  --help                  this text

Exit code: 0 when every message was delivered and every invariant held, 1 when a message was lost or an
invariant broke, 2 for a bad command line, 3 when the demo could not set up (e.g. DynamoDB unreachable).
`;

function range(flag: NumericFlag): string {
  return `${NUMERIC_FLAGS[flag].min}..${NUMERIC_FLAGS[flag].max}`;
}

/**
 * Parses and validates the demo's command line (without `node` and the script path).
 * Never throws: errors come back as `{ kind: 'error' }` naming the flag and its allowed range.
 *
 * @example
 * ```ts
 * parseArgs(['--instances', '4', '--seed', '7']); // { kind: 'run', options: { instances: 4, seed: 7, ... } }
 * ```
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseNodeArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        instances: { type: 'string' },
        messages: { type: 'string' },
        incidents: { type: 'string' },
        seed: { type: 'string' },
        endpoint: { type: 'string' },
        json: { type: 'string' },
        html: { type: 'string' },
        'auth-latency-ms': { type: 'string' },
        'message-latency-ms': { type: 'string' },
        'spread-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    return { kind: 'error', message: `${describeParseError(error)}\nRun with --help for the list of flags.` };
  }
  if (values['help'] === true) return { kind: 'help', text: HELP_TEXT };

  const numbers: Partial<Record<NumericFlag, number>> = {};
  for (const flag of Object.keys(NUMERIC_FLAGS) as NumericFlag[]) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const parsed = parseInteger(flag, String(raw));
    if (typeof parsed === 'string') return { kind: 'error', message: parsed };
    numbers[flag] = parsed;
  }

  const endpoint = values['endpoint'] === undefined ? undefined : String(values['endpoint']);
  if (endpoint !== undefined) {
    const problem = checkEndpoint(endpoint);
    if (problem !== undefined) return { kind: 'error', message: problem };
  }
  const jsonPath = values['json'] === undefined ? DEFAULT_JSON_PATH : String(values['json']);
  if (jsonPath.length === 0) return { kind: 'error', message: '--json needs a non-empty path' };
  const htmlRaw = values['html'] === undefined ? undefined : String(values['html']);
  if (htmlRaw !== undefined && htmlRaw.length === 0) return { kind: 'error', message: '--html needs a non-empty path' };

  const messages = numbers.messages ?? NUMERIC_FLAGS.messages.default;
  const spreadMs = numbers['spread-ms'] ?? defaultSpreadMs(messages);
  const incidents = numbers.incidents ?? NUMERIC_FLAGS.incidents.default;
  const incidentsMax = Math.floor(spreadMs / INCIDENT_GAP_MS_MIN);
  if (incidents > incidentsMax) {
    return {
      kind: 'error',
      message: `--incidents must be in 0..${incidentsMax} for a spread of ${spreadMs} ms (incidents need ${INCIDENT_GAP_MS_MIN} ms apart), got '${incidents}'; raise --messages or --spread-ms`,
    };
  }
  return {
    kind: 'run',
    options: {
      instances: numbers.instances ?? NUMERIC_FLAGS.instances.default,
      messages,
      incidents,
      seed: numbers.seed ?? NUMERIC_FLAGS.seed.default,
      endpoint,
      jsonPath,
      htmlPath: htmlRaw ?? siblingPath(jsonPath, TIMELINE_FILE_NAME),
      eventsPath: siblingPath(jsonPath, EVENTS_FILE_NAME),
      authLatencyMs: numbers['auth-latency-ms'] ?? NUMERIC_FLAGS['auth-latency-ms'].default,
      messageLatencyMs: numbers['message-latency-ms'] ?? NUMERIC_FLAGS['message-latency-ms'].default,
      spreadMs,
    },
  };
}

/** Default arrival spread for `messages` webhooks. */
export function defaultSpreadMs(messages: number): number {
  return Math.max(SPREAD_MIN_MS, Math.round(messages * SPREAD_PER_MESSAGE_MS));
}

function parseInteger(flag: NumericFlag, raw: string): number | string {
  const { min, max } = NUMERIC_FLAGS[flag];
  const problem = `--${flag} must be an integer in ${min}..${max}, got '${raw}'`;
  if (!/^\d+$/.test(raw)) return problem;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) return problem;
  return value;
}

function checkEndpoint(raw: string): string | undefined {
  const problem = `--endpoint must be an http(s) URL of a DynamoDB endpoint on 127.0.0.1 or localhost (e.g. http://127.0.0.1:8000), got '${raw}'`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return problem;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return problem;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return problem;
  return undefined;
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Node's messages name the flag already ("Unknown option '--foo'", "Option '--seed <value>' argument missing").
  return `invalid command line: ${message}`;
}

function siblingPath(path: string, fileName: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? fileName : `${path.slice(0, slash + 1)}${fileName}`;
}
