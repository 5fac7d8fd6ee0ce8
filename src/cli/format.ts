/**
 * What `baton status` shows, as a plain object (printed as JSON for scripts) and as text for
 * people. The token itself never enters either: only its fingerprint.
 */
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '../machine/config.js';
import { ISSUER_UNAVAILABLE_CODE } from '../machine/record.js';
import type { TokenRecord } from '../machine/record.js';
import { fingerprint } from '../runtime/fingerprint.js';

/** Where the item lives, for output. */
export interface ItemLocation {
  readonly tableName: string;
  readonly partitionKey: string;
  readonly key: string;
  /** e.g. `endpoint http://localhost:8000` or `region eu-west-1`. */
  readonly location: string;
}

/**
 * `baton status --json`: one object, stable keys, `null` for what the item does not hold.
 * Times are epoch milliseconds on the writers' clocks; `…AgoMs`/`…InMs` use this machine's clock (`nowMs`).
 *
 * @example
 * ```ts
 * const view: StatusView = statusView(record, where, Date.now());
 * if (view.found && view.token?.expired) alert();
 * ```
 */
export type StatusView = ItemLocation & { readonly nowMs: number } & (
    | { readonly found: false }
    | {
        readonly found: true;
        readonly schemaVersion: number;
        readonly revision: number;
        readonly generation: number;
        readonly token: TokenView | null;
        /** The generation an operator invalidated, if one is recorded (a publish clears it). */
        readonly invalidatedGeneration: number | null;
        readonly lease: LeaseView | null;
        readonly failure: FailureView | null;
        /** One-line verdicts, most important first (the same as the text output's `state` lines). */
        readonly notes: readonly string[];
      }
  );

/** The token, without the token. */
export interface TokenView {
  readonly fingerprint: string;
  readonly issuedAtMs: number | null;
  readonly ageMs: number | null;
  readonly expiresAtMs: number | null;
  /** Negative once expired. */
  readonly expiresInMs: number | null;
  readonly expired: boolean;
  /** Whether the stored generation is the invalidated one. */
  readonly invalidated: boolean;
}

/** The refresh lease. */
export interface LeaseView {
  readonly id: string;
  readonly holder: string | null;
  readonly acquiredAtMs: number | null;
  readonly ageMs: number | null;
  readonly expiresAtMs: number | null;
  /** Negative once the lease has ended. */
  readonly expiresInMs: number | null;
  /**
   * Whether the lease ended more than the default clock-skew allowance ago (the wall-clock
   * staleness rule): its holder probably crashed, and the next instance that needs a token takes it over.
   */
  readonly looksStale: boolean;
}

/** The last recorded refresh failure and its back-off. */
export interface FailureView {
  readonly code: string | null;
  readonly status: number | null;
  readonly count: number | null;
  readonly atMs: number | null;
  readonly agoMs: number | null;
  readonly backoffUntilMs: number | null;
  /** 0 once the back-off is over. */
  readonly backoffRemainingMs: number | null;
}

/**
 * Builds the view of `record` (or of its absence) at `nowMs`.
 *
 * @example
 * ```ts
 * statusView({ schemaVersion: 1, revision: 1, generation: 0 }, where, Date.now()).found; // true
 * ```
 */
export function statusView(record: TokenRecord | undefined, where: ItemLocation, nowMs: number): StatusView {
  const base = { ...where, nowMs };
  if (record === undefined) return { ...base, found: false };
  const since = (atMs: number | undefined): number | null => (atMs === undefined ? null : nowMs - atMs);
  const until = (atMs: number | undefined): number | null => (atMs === undefined ? null : atMs - nowMs);
  const token: TokenView | null =
    record.token === undefined
      ? null
      : {
          fingerprint: fingerprint(record.token),
          issuedAtMs: record.tokenIssuedAtMs ?? null,
          ageMs: since(record.tokenIssuedAtMs),
          expiresAtMs: record.tokenExpiresAtMs ?? null,
          expiresInMs: until(record.tokenExpiresAtMs),
          expired: record.tokenExpiresAtMs !== undefined && nowMs >= record.tokenExpiresAtMs,
          invalidated: record.invalidatedGeneration === record.generation,
        };
  const lease: LeaseView | null =
    record.leaseId === undefined
      ? null
      : {
          id: record.leaseId,
          holder: record.leaseHolder ?? null,
          acquiredAtMs: record.leaseAcquiredAtMs ?? null,
          ageMs: since(record.leaseAcquiredAtMs),
          expiresAtMs: record.leaseExpiresAtMs ?? null,
          expiresInMs: until(record.leaseExpiresAtMs),
          looksStale: record.leaseExpiresAtMs !== undefined && nowMs >= record.leaseExpiresAtMs + DEFAULT_MAX_CLOCK_SKEW_MS,
        };
  const hasFailure = record.failureCode !== undefined || record.backoffUntilMs !== undefined;
  const failure: FailureView | null = !hasFailure
    ? null
    : {
        code: record.failureCode ?? null,
        status: record.failureStatus ?? null,
        count: record.failureCount ?? null,
        atMs: record.failureAtMs ?? null,
        agoMs: since(record.failureAtMs),
        backoffUntilMs: record.backoffUntilMs ?? null,
        backoffRemainingMs: record.backoffUntilMs === undefined ? null : Math.max(0, record.backoffUntilMs - nowMs),
      };
  return {
    ...base,
    found: true,
    schemaVersion: record.schemaVersion,
    revision: record.revision,
    generation: record.generation,
    token,
    invalidatedGeneration: record.invalidatedGeneration ?? null,
    lease,
    failure,
    notes: notesFor(token, lease, failure),
  };
}

function notesFor(token: TokenView | null, lease: LeaseView | null, failure: FailureView | null): string[] {
  const notes: string[] = [];
  if (token === null) notes.push('no token published yet: the first instance that needs one calls the issuer');
  else if (token.invalidated) {
    notes.push(
      'this generation was invalidated by an operator: the next instance that reads the item refreshes it ' +
        '(instances that have it cached keep using it until the chat API rejects it)',
    );
  } else if (token.expired) notes.push('the token has expired: the next instance that needs one refreshes it');
  if (lease !== null) {
    const holder = lease.holder ?? 'an unnamed instance';
    notes.push(
      lease.looksStale
        ? `the lease of ${holder} looks stale (its holder probably crashed or froze): the next instance that needs a token takes it over`
        : `a refresh is in progress: ${holder} holds the lease`,
    );
  }
  if (failure !== null && failure.backoffRemainingMs !== null && failure.backoffRemainingMs > 0) {
    const error = failure.code === ISSUER_UNAVAILABLE_CODE ? 'IssuerUnavailableError' : 'IssuerRefusedError';
    notes.push(
      `issuer calls are paused for ${formatDuration(failure.backoffRemainingMs)} after ${failure.code ?? 'a failure'}: ` +
        `callers that need a new token get ${error} until then`,
    );
  }
  if (notes.length === 0) notes.push('ok: instances adopt and use this token');
  return notes;
}

/**
 * The human-readable `baton status`.
 *
 * @example
 * ```ts
 * process.stdout.write(formatStatusText(view));
 * ```
 */
export function formatStatusText(view: StatusView): string {
  const lines = [`DynamoDB table ${JSON.stringify(view.tableName)} (${view.partitionKey}=${JSON.stringify(view.key)}) at ${view.location}`];
  if (!view.found) return `${lines[0]}: no such item\n`;
  const row = (label: string, value: string, indent = 2): void => {
    lines.push(`${' '.repeat(indent)}${label.padEnd(LABEL_WIDTH - indent)}${value}`);
  };
  for (const note of view.notes) row('state', note);
  row('generation', String(view.generation));
  const { token, lease, failure } = view;
  if (token === null) row('token', 'none');
  else {
    row('token', `${token.fingerprint} (fingerprint; the token itself is never shown)`);
    row('issued', at(token.issuedAtMs, view.nowMs), 4);
    row('expires', token.expiresAtMs === null ? 'not stated by the issuer' : `${at(token.expiresAtMs, view.nowMs)}${token.expired ? ' — EXPIRED' : ''}`, 4);
  }
  row(
    'invalidated',
    view.invalidatedGeneration === null
      ? 'no'
      : `generation ${view.invalidatedGeneration}${view.invalidatedGeneration === view.generation ? ' (the current one)' : ' (not the current one)'}`,
  );
  if (lease === null) row('lease', 'none');
  else {
    row('lease', `held by ${lease.holder ?? '(no holder recorded)'} (lease id ${lease.id})`);
    row('acquired', at(lease.acquiredAtMs, view.nowMs), 4);
    row('ends', `${at(lease.expiresAtMs, view.nowMs)}${lease.looksStale ? ' — looks STALE' : ''}`, 4);
  }
  if (failure === null) row('last failure', 'none');
  else {
    const status = failure.status === null ? '' : ` (HTTP ${failure.status})`;
    const count = failure.count === null ? '' : `, ${failure.count} in a row`;
    row('last failure', `${failure.code ?? 'unknown'}${status}${count}, ${at(failure.atMs, view.nowMs)}`);
    row(
      'back-off',
      failure.backoffUntilMs === null
        ? 'none'
        : failure.backoffRemainingMs !== null && failure.backoffRemainingMs > 0
          ? `${formatDuration(failure.backoffRemainingMs)} remaining (until ${formatTime(failure.backoffUntilMs)})`
          : `over (ended ${relative(failure.backoffUntilMs, view.nowMs)})`,
      4,
    );
  }
  row('revision', String(view.revision));
  row('schema version', String(view.schemaVersion));
  return `${lines.join('\n')}\n`;
}

const LABEL_WIDTH = 18;

function at(atMs: number | null, nowMs: number): string {
  return atMs === null ? 'unknown' : `${formatTime(atMs)} (${relative(atMs, nowMs)})`;
}

/**
 * An epoch-ms time as ISO 8601 UTC, without milliseconds.
 *
 * @example
 * ```ts
 * formatTime(0); // '1970-01-01T00:00:00Z'
 * ```
 */
export function formatTime(atMs: number): string {
  const date = new Date(atMs);
  return Number.isNaN(date.getTime()) ? `${atMs} (epoch ms)` : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * `3m 12s ago` or `in 3m 12s`, relative to `nowMs`.
 *
 * @example
 * ```ts
 * relative(1_000, 61_000); // '1m 0s ago'
 * ```
 */
export function relative(atMs: number, nowMs: number): string {
  const deltaMs = atMs - nowMs;
  return deltaMs > 0 ? `in ${formatDuration(deltaMs)}` : `${formatDuration(-deltaMs)} ago`;
}

const DURATION_UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
] as const;

/**
 * A duration in its two most significant units: `850ms`, `42s`, `3m 12s`, `2h 5m`, `1d 3h`.
 *
 * @example
 * ```ts
 * formatDuration(192_000); // '3m 12s'
 * ```
 */
export function formatDuration(durationMs: number): string {
  const ms = Math.max(0, Math.round(durationMs));
  if (ms < 1_000) return `${ms}ms`;
  const index = DURATION_UNITS.findIndex(([, unitMs]) => ms >= unitMs);
  const [unit, unitMs] = DURATION_UNITS[index] ?? DURATION_UNITS[DURATION_UNITS.length - 1]!;
  const whole = Math.floor(ms / unitMs);
  const next = DURATION_UNITS[index + 1];
  if (next === undefined) return `${whole}${unit}`;
  return `${whole}${unit} ${Math.floor((ms - whole * unitMs) / next[1])}${next[0]}`;
}
