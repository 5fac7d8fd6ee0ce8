import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { RECORD_FIELDS, RECORD_SCHEMA_VERSION, STRING_FIELDS } from '../machine/record.js';
import type { RecordField, TokenRecord, WriteRequest } from '../machine/record.js';
import { ProtocolViolationError, RecordInvalidError } from './errors.js';

/**
 * Strict conversion between the stored item and {@link TokenRecord}. Every store decodes through
 * here, so an item that one store refuses is refused by all of them, and a store never hands
 * the protocol a record it did not fully check. Messages name attributes and types, never
 * values: a foreign item may hold secrets.
 */

/**
 * How many problems one {@link RecordInvalidError} lists before summarizing the rest.
 *
 * @example
 * ```ts
 * recordProblems(item).slice(0, RECORD_PROBLEMS_LISTED_MAX);
 * ```
 */
export const RECORD_PROBLEMS_LISTED_MAX = 5;

/** Longest attribute name quoted in a message; longer names are cut (they come from foreign items). */
const ATTRIBUTE_NAME_QUOTED_MAX_CHARS = 64;

/** What a stored attribute must hold. */
type ValueKind = 'text' | 'integer' | 'count';

const STRING_FIELD_SET: ReadonlySet<string> = new Set<string>(STRING_FIELDS);

/** Fields that count something and so can never be negative. */
const COUNT_FIELDS: ReadonlySet<string> = new Set<string>(['generation', 'failureCount'] satisfies RecordField[]);

/** Every attribute a Baton item may hold, with its kind. */
const ATTRIBUTE_KINDS: ReadonlyMap<string, ValueKind> = new Map<string, ValueKind>([
  ['revision', 'count'],
  ...RECORD_FIELDS.map((field): [string, ValueKind] => [field, fieldKind(field)]),
]);

/** Attributes every Baton item holds (besides `schemaVersion`). */
const REQUIRED_ATTRIBUTES = ['revision', 'generation'] as const;

/** Bookkeeping attributes written by every store, never by a request. */
const BOOKKEEPING_ATTRIBUTES = ['schemaVersion', 'revision'] as const;

/**
 * Every attribute name a Baton item uses. A partition key must not reuse one of them.
 *
 * @example
 * ```ts
 * RECORD_ATTRIBUTE_NAMES.includes('token'); // true
 * ```
 */
export const RECORD_ATTRIBUTE_NAMES: readonly string[] = [...BOOKKEEPING_ATTRIBUTES, ...RECORD_FIELDS];

/**
 * Where an item was read from, for messages.
 *
 * @example
 * ```ts
 * const context: DecodeContext = { source: store.describe(), partitionKey: 'pk' };
 * ```
 */
export interface DecodeContext {
  /** The store's `describe()`, e.g. `DynamoDB table "tokens" (pk="chat") at region eu-west-1`. */
  readonly source: string;
  /**
   * Name of the partition-key attribute, which belongs to the table, not to the record.
   * @defaultValue none (the item holds no key attribute, as in the memory store)
   */
  readonly partitionKey?: string;
}

/**
 * Converts a stored item (plain values, after unmarshalling) to a {@link TokenRecord}, checking
 * everything: schema version 1, known attributes only, strings non-empty, numbers safe integers.
 *
 * @throws {@link RecordInvalidError} if the item was written by a newer Baton, or is not a Baton item.
 * @example
 * ```ts
 * const record = decodeRecord({ pk: 'chat', schemaVersion: 1, revision: 1, generation: 0 }, { source: 'memory store', partitionKey: 'pk' });
 * ```
 */
export function decodeRecord(item: Readonly<Record<string, unknown>>, context: DecodeContext): TokenRecord {
  const version = item['schemaVersion'];
  if (typeof version === 'number' && Number.isSafeInteger(version) && version > RECORD_SCHEMA_VERSION) {
    throw new RecordInvalidError(
      `the item in ${context.source} was written by a newer Baton (record schema version ${version}; this version of dynamo-baton reads version ${RECORD_SCHEMA_VERSION}). ` +
        'It will not be overwritten: upgrade dynamo-baton on every instance that shares this item.',
    );
  }
  const problems = recordProblems(item, context.partitionKey);
  if (problems.length > 0) {
    const listed = problems.slice(0, RECORD_PROBLEMS_LISTED_MAX).join('; ');
    const more = problems.length > RECORD_PROBLEMS_LISTED_MAX ? `; and ${problems.length - RECORD_PROBLEMS_LISTED_MAX} more` : '';
    throw new RecordInvalidError(
      `the item in ${context.source} is not a Baton token record: ${listed}${more}. ` +
        'Baton never overwrites an item it cannot read: point the coordinator at another key, or delete the item if nothing else uses it.',
    );
  }
  const record: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) if (name !== context.partitionKey) record[name] = value;
  return record as unknown as TokenRecord;
}

/**
 * Everything wrong with `item` as a schema-version-1 Baton record, as readable phrases
 * (empty when it is valid). Used by {@link decodeRecord} and by stores' own assertions.
 *
 * @example
 * ```ts
 * recordProblems({ schemaVersion: 1, revision: 1 }); // ['attribute "generation": expected a non-negative integer, found nothing (the attribute is missing)']
 * ```
 */
export function recordProblems(item: Readonly<Record<string, unknown>>, partitionKey?: string): string[] {
  const problems: string[] = [];
  const version = item['schemaVersion'];
  if (version !== RECORD_SCHEMA_VERSION) {
    // A version number is not a secret, and naming it helps tell an old item from a foreign one.
    const found = typeof version === 'number' ? `the number ${version}` : describeValue(version);
    problems.push(`attribute "schemaVersion": expected the number ${RECORD_SCHEMA_VERSION}, found ${found}`);
  }
  for (const name of REQUIRED_ATTRIBUTES) {
    if (!(name in item)) problems.push(`attribute "${name}": expected ${describeKind('count')}, found nothing (the attribute is missing)`);
  }
  for (const name of Object.keys(item).sort()) {
    if (name === partitionKey || name === 'schemaVersion') continue;
    const kind = ATTRIBUTE_KINDS.get(name);
    if (kind === undefined) {
      problems.push(`unexpected attribute ${quoteName(name)}`);
      continue;
    }
    const value = item[name];
    if (!valueFits(kind, value)) problems.push(`attribute "${name}": expected ${describeKind(kind)}, found ${describeValue(value)}`);
  }
  return problems;
}

/**
 * Checks a write request before any store executes it, so that no store can write an item it
 * could not read back. A bad request is a bug in the caller, hence {@link ProtocolViolationError}.
 *
 * @throws {@link ProtocolViolationError} naming the intent and the offending field (never its value).
 * @example
 * ```ts
 * validateWriteRequest({ intent: 'release', condition: { exists: true, leaseId: 'l-1' }, set: {}, remove: ['leaseId'] });
 * ```
 */
export function validateWriteRequest(request: WriteRequest): void {
  const fail = (what: string): never => {
    throw new ProtocolViolationError(`invalid write request (intent "${String(request.intent)}"): ${what}`);
  };
  const { condition } = request;
  if (typeof condition?.exists !== 'boolean') fail('condition.exists must be true or false');
  if (condition.generation !== undefined && !valueFits('count', condition.generation)) fail('condition.generation must be a non-negative integer');
  if (condition.revision !== undefined && !valueFits('count', condition.revision)) fail('condition.revision must be a non-negative integer');
  if (condition.leaseId !== undefined && condition.leaseId !== null && !valueFits('text', condition.leaseId)) {
    fail('condition.leaseId must be null or a non-empty string');
  }
  for (const [field, value] of Object.entries(request.set ?? fail('set must be an object'))) {
    const kind = ATTRIBUTE_KINDS.get(field);
    if (kind === undefined || (BOOKKEEPING_ATTRIBUTES as readonly string[]).includes(field)) fail(`set names unknown field ${quoteName(field)}`);
    else if (value !== undefined && !valueFits(kind, value)) fail(`set.${field} must be ${describeKind(kind)}, not ${describeValue(value)}`);
  }
  if (!Array.isArray(request.remove)) fail('remove must be an array of field names');
  for (const field of request.remove) {
    if (!(RECORD_FIELDS as readonly string[]).includes(field)) fail(`remove names unknown field ${quoteName(String(field))}`);
    if (field === 'generation' && request.set.generation === undefined) fail('generation can never be removed (every record has one)');
  }
}

/**
 * Converts a DynamoDB attribute map (as the low-level client returns it) to plain values:
 * `S` to string, `N` to number, and the other types to their natural JS form so that
 * {@link decodeRecord} can say what it found. Numbers beyond `Number.MAX_SAFE_INTEGER` lose
 * precision here and are then refused by {@link decodeRecord}.
 *
 * @example
 * ```ts
 * fromAttributeMap({ pk: { S: 'chat' }, revision: { N: '3' } }); // { pk: 'chat', revision: 3 }
 * ```
 */
export function fromAttributeMap(map: Readonly<Record<string, AttributeValue>>): Record<string, unknown> {
  const item: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(map)) item[name] = fromAttributeValue(value);
  return item;
}

/**
 * Converts one field value of a record to a DynamoDB attribute value. Records hold only
 * non-empty strings and safe integers (see {@link validateWriteRequest}).
 *
 * @example
 * ```ts
 * toAttributeValue(42); // { N: '42' }
 * toAttributeValue('l-1'); // { S: 'l-1' }
 * ```
 */
export function toAttributeValue(value: string | number): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (!Number.isSafeInteger(value)) throw new ProtocolViolationError('invariant broken: record numbers are safe integers');
  return { N: String(value) };
}

function fromAttributeValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.B !== undefined) return value.B;
  if (value.L !== undefined) return value.L.map(fromAttributeValue);
  if (value.M !== undefined) return fromAttributeMap(value.M);
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(Number));
  if (value.BS !== undefined) return new Set(value.BS);
  return { unknownAttributeType: true };
}

function fieldKind(field: RecordField): ValueKind {
  if (STRING_FIELD_SET.has(field)) return 'text';
  return COUNT_FIELDS.has(field) ? 'count' : 'integer';
}

function valueFits(kind: ValueKind, value: unknown): boolean {
  if (kind === 'text') return typeof value === 'string' && value.length > 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return false;
  return kind === 'integer' || value >= 0;
}

function describeKind(kind: ValueKind): string {
  if (kind === 'text') return 'a non-empty string';
  return kind === 'count' ? 'a non-negative integer' : 'an integer';
}

/** Names the type of a value without showing it (it may be a secret). */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the attribute is missing)';
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length === 0 ? 'an empty string' : 'a string';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'a number that is not finite';
    if (!Number.isInteger(value)) return 'a number that is not an integer';
    if (!Number.isSafeInteger(value)) return 'an integer too large to represent exactly';
    return value < 0 ? 'a negative number' : 'a number';
  }
  if (typeof value === 'boolean') return 'a boolean';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Set) return 'a set';
  if (value instanceof Uint8Array) return 'binary data';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}

function quoteName(name: string): string {
  const cut = name.length > ATTRIBUTE_NAME_QUOTED_MAX_CHARS ? `${name.slice(0, ATTRIBUTE_NAME_QUOTED_MAX_CHARS)}…` : name;
  return JSON.stringify(cut);
}
