/**
 * The shape of the one shared item and of the conditional writes the protocol makes to it.
 * Pure data: the machine decides *what* to write and *under which condition*; a store port
 * only executes it. Keeping the condition in the request (not inside the store) is what lets the
 * spec and tests swap in deliberately broken variants without touching production stores.
 */

/** `failureCode` of a definite refusal of the credentials. */
export const ISSUER_REFUSED_CODE = 'ISSUER_REFUSED';
/** `failureCode` after every attempt under one lease had an unknown outcome. */
export const ISSUER_UNAVAILABLE_CODE = 'ISSUER_UNAVAILABLE';

/** Schema version this code reads and writes. A newer version in the table is refused, never overwritten. */
export const RECORD_SCHEMA_VERSION = 1 as const;

/**
 * The shared token item, as the protocol sees it (flat, like its DynamoDB attributes).
 *
 * @example
 * ```ts
 * const record: TokenRecord = { schemaVersion: 1, revision: 3, generation: 2, token: 'abc', tokenIssuedAtMs: 1_700_000_000_000 };
 * ```
 */
export interface TokenRecord {
  /** Always {@link RECORD_SCHEMA_VERSION}. */
  readonly schemaVersion: typeof RECORD_SCHEMA_VERSION;
  /** Incremented by every write. Followers watch it to judge whether a lease is still being worked on. */
  readonly revision: number;
  /** Incremented by every publish; 0 means no token was ever published. */
  readonly generation: number;
  /** The current token, if one was published. */
  readonly token?: string;
  /** When the token was published, on the publisher's clock (epoch ms). */
  readonly tokenIssuedAtMs?: number;
  /** When the issuer said the token expires (epoch ms), if it said. */
  readonly tokenExpiresAtMs?: number;
  /** Unique id of the refresh lease, while one is held. */
  readonly leaseId?: string;
  /** Which instance holds the lease (for operators; never used for decisions). */
  readonly leaseHolder?: string;
  /** When the lease was taken, on the holder's clock (epoch ms). */
  readonly leaseAcquiredAtMs?: number;
  /** When the lease runs out, on the holder's clock (epoch ms). */
  readonly leaseExpiresAtMs?: number;
  /** Why the last refresh failed for good (e.g. `ISSUER_REFUSED`), while a back-off is recorded. */
  readonly failureCode?: string;
  /** HTTP status of the refused `POST /auth`, if the issuer gave one. */
  readonly failureStatus?: number;
  /** How many refreshes in a row failed for good; drives the back-off length. */
  readonly failureCount?: number;
  /** When the last failure was recorded (epoch ms, recorder's clock). */
  readonly failureAtMs?: number;
  /** No instance calls the issuer before this time (epoch ms, recorder's clock). */
  readonly backoffUntilMs?: number;
  /**
   * An operator marked this generation as rejected (`baton invalidate`): instances reading the
   * item refresh instead of adopting its token.
   */
  readonly invalidatedGeneration?: number;
}

/** Names of the attributes a write may set or remove (everything but the bookkeeping ones). */
export type RecordField = Exclude<keyof TokenRecord, 'schemaVersion' | 'revision'>;

/** All fields a write may touch, in a fixed order (used by stores to build expressions). */
export const RECORD_FIELDS = [
  'generation',
  'token',
  'tokenIssuedAtMs',
  'tokenExpiresAtMs',
  'leaseId',
  'leaseHolder',
  'leaseAcquiredAtMs',
  'leaseExpiresAtMs',
  'failureCode',
  'failureStatus',
  'failureCount',
  'failureAtMs',
  'backoffUntilMs',
  'invalidatedGeneration',
] as const satisfies readonly RecordField[];

/** Fields that hold strings; all others hold finite integers. */
export const STRING_FIELDS = ['token', 'leaseId', 'leaseHolder', 'failureCode'] as const satisfies readonly RecordField[];

/** Lease fields, removed together by publish, release and failure records. */
export const LEASE_FIELDS = ['leaseId', 'leaseHolder', 'leaseAcquiredAtMs', 'leaseExpiresAtMs'] as const satisfies readonly RecordField[];

/** Failure fields, removed together by a successful publish. */
export const FAILURE_FIELDS = ['failureCode', 'failureStatus', 'failureCount', 'failureAtMs', 'backoffUntilMs'] as const satisfies readonly RecordField[];

/**
 * The condition a write must meet, checked atomically by the store. All listed parts must hold.
 *
 * @example
 * ```ts
 * // claim: the item exists, still holds generation 4, and has no lease
 * const claim: WriteCondition = { exists: true, generation: 4, leaseId: null };
 * ```
 */
export interface WriteCondition {
  /** `true`: the item must exist; `false`: it must not exist (first write ever). */
  readonly exists: boolean;
  /** The stored generation must equal this. */
  readonly generation?: number;
  /** `null`: no lease may be stored; a string: the stored lease id must equal it. */
  readonly leaseId?: string | null;
  /** The stored revision must equal this. */
  readonly revision?: number;
}

/** Fields to set, by name. */
export type RecordPatch = { readonly [K in RecordField]?: NonNullable<TokenRecord[K]> };

/** What the protocol is doing with a write; used only for logs, metrics and timelines. */
export const WRITE_INTENTS = ['claim', 'take-over', 'renew', 'publish', 'release', 'record-failure', 'invalidate'] as const;
/** One of {@link WRITE_INTENTS}. */
export type WriteIntent = (typeof WRITE_INTENTS)[number];

/**
 * One conditional write: set some fields, remove others, bump `revision`, only if `condition` holds.
 * There is no unconditional write in the protocol: `condition.exists` is always stated.
 *
 * @example
 * ```ts
 * const release: WriteRequest = { intent: 'release', condition: { exists: true, leaseId: 'l-1' }, set: {}, remove: ['leaseId'] };
 * ```
 */
export interface WriteRequest {
  readonly intent: WriteIntent;
  readonly condition: WriteCondition;
  readonly set: RecordPatch;
  readonly remove: readonly RecordField[];
}

/**
 * Result of a conditional write. A failed condition is an ordinary outcome, not an exception:
 * the store always reports the item as it stood (stores that do not return it read it back).
 */
export type WriteOutcome =
  | { readonly applied: true; readonly record: TokenRecord }
  | { readonly applied: false; readonly current: TokenRecord | undefined };

/**
 * Whether `record` (or its absence) meets `condition`. The single definition every in-memory
 * implementation and every checker uses, so they cannot disagree.
 *
 * @example
 * ```ts
 * conditionHolds({ exists: false }, undefined); // true
 * ```
 */
export function conditionHolds(condition: WriteCondition, record: TokenRecord | undefined): boolean {
  if (record === undefined) return !condition.exists;
  if (!condition.exists) return false;
  if (condition.generation !== undefined && record.generation !== condition.generation) return false;
  if (condition.revision !== undefined && record.revision !== condition.revision) return false;
  if (condition.leaseId === null && record.leaseId !== undefined) return false;
  if (typeof condition.leaseId === 'string' && record.leaseId !== condition.leaseId) return false;
  return true;
}

/**
 * Applies a write that passed its condition: the pure successor of `record`.
 *
 * @example
 * ```ts
 * applyWrite(undefined, { intent: 'claim', condition: { exists: false }, set: { generation: 0, leaseId: 'l' }, remove: [] });
 * ```
 */
export function applyWrite(record: TokenRecord | undefined, request: WriteRequest): TokenRecord {
  const next: Record<string, unknown> = { ...(record ?? { schemaVersion: RECORD_SCHEMA_VERSION, revision: 0, generation: 0 }) };
  for (const field of request.remove) delete next[field];
  for (const [field, value] of Object.entries(request.set)) if (value !== undefined) next[field] = value;
  next['revision'] = (record?.revision ?? 0) + 1;
  next['schemaVersion'] = RECORD_SCHEMA_VERSION;
  return next as unknown as TokenRecord;
}
