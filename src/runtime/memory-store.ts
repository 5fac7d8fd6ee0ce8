import { applyWrite, conditionHolds } from '../machine/record.js';
import type { TokenRecord, WriteOutcome, WriteRequest } from '../machine/record.js';
import { InvalidOptionsError, invariant } from './errors.js';
import { decodeRecord, recordProblems, validateWriteRequest } from './record-codec.js';
import type { ReadOptions, TokenStore } from './store.js';

/**
 * Applied writes kept by {@link MemoryTokenStore.history} before the oldest are dropped.
 *
 * @example
 * ```ts
 * new MemoryTokenStore({ historyLimitEntries: MEMORY_HISTORY_LIMIT_ENTRIES * 10 });
 * ```
 */
export const MEMORY_HISTORY_LIMIT_ENTRIES = 10_000;

/**
 * What {@link MemoryTokenStore.describe} returns.
 *
 * @example
 * ```ts
 * new MemoryTokenStore().describe() === MEMORY_STORE_DESCRIPTION; // true
 * ```
 */
export const MEMORY_STORE_DESCRIPTION = 'memory store';

/**
 * The two operations a hook can intercept.
 *
 * @example
 * ```ts
 * const operation: MemoryStoreOperation = 'write';
 * ```
 */
export type MemoryStoreOperation = 'read' | 'write';

/**
 * A hook around each operation. It receives the write request for writes. Throwing (or
 * rejecting) makes the operation reject with that error.
 *
 * @example
 * ```ts
 * const dropClaims: MemoryStoreHook = (operation, request) => {
 *   if (request?.intent === 'claim') throw new StoreUnavailableError('injected: request lost');
 * };
 * ```
 */
export type MemoryStoreHook = (operation: MemoryStoreOperation, request?: WriteRequest) => void | Promise<void>;

/**
 * Options of {@link MemoryTokenStore}.
 *
 * @example
 * ```ts
 * const options: MemoryTokenStoreOptions = { historyLimitEntries: 100, beforeOperation: () => clock.sleep(5) };
 * ```
 */
export interface MemoryTokenStoreOptions {
  /**
   * How many applied writes {@link MemoryTokenStore.history} keeps; older ones are dropped and counted.
   * @defaultValue {@link MEMORY_HISTORY_LIMIT_ENTRIES}
   */
  readonly historyLimitEntries?: number;
  /**
   * Runs before each operation takes effect. Throw to make the operation fail *without* effect
   * (a request that never reached the store); await something to delay its linearization point.
   * @defaultValue none
   */
  readonly beforeOperation?: MemoryStoreHook;
  /**
   * Runs after each operation took effect. Throw to make it fail *after* effect: for a write,
   * the write is applied but the caller sees an error (a lost response, the ambiguous case).
   * @defaultValue none
   */
  readonly afterOperation?: MemoryStoreHook;
}

/**
 * One applied write, as recorded by {@link MemoryTokenStore.history}.
 *
 * @example
 * ```ts
 * const publishes = store.history().filter((entry: MemoryWriteEntry) => entry.request.intent === 'publish');
 * ```
 */
export interface MemoryWriteEntry {
  /** 1 for the first applied write, then +1 per applied write (dropped entries keep their numbers). */
  readonly seq: number;
  readonly request: WriteRequest;
  /** The item just before the write (`undefined` if it did not exist). */
  readonly before: TokenRecord | undefined;
  /** The item just after the write. */
  readonly after: TokenRecord;
}

type RawItem = Readonly<Record<string, unknown>>;

/**
 * An in-memory {@link TokenStore} over one item, linearizable: each call takes effect
 * atomically at the moment it is made (after `beforeOperation`, if that hook is async), using
 * the very `conditionHolds`/`applyWrite` the checkers use. Records handed out are frozen.
 * `read({ consistent: false })` returns the item as it stood one applied write earlier: a
 * deterministic stand-in for an eventually consistent read.
 *
 * @example
 * ```ts
 * const store = new MemoryTokenStore();
 * await store.write({ intent: 'claim', condition: { exists: false }, set: { generation: 0, leaseId: 'l-1' }, remove: [] });
 * store.snapshot(); // { schemaVersion: 1, revision: 1, generation: 0, leaseId: 'l-1' }
 * store.history().length; // 1
 * ```
 */
export class MemoryTokenStore implements TokenStore {
  readonly #historyLimitEntries: number;
  readonly #beforeOperation: MemoryStoreHook | undefined;
  readonly #afterOperation: MemoryStoreHook | undefined;
  #item: RawItem | undefined;
  /** The item before the last applied write: what a lagging replica would still show. */
  #previousItem: RawItem | undefined;
  #history: MemoryWriteEntry[] = [];
  #historyDropped = 0;
  #seq = 0;

  constructor(options: MemoryTokenStoreOptions = {}) {
    const limit = options.historyLimitEntries ?? MEMORY_HISTORY_LIMIT_ENTRIES;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidOptionsError('historyLimitEntries', 'historyLimitEntries must be a positive integer (the number of applied writes to keep)');
    }
    for (const hook of ['beforeOperation', 'afterOperation'] as const) {
      if (options[hook] !== undefined && typeof options[hook] !== 'function') {
        throw new InvalidOptionsError(hook, `${hook} must be a function (operation, request?) => void | Promise<void>, or left out`);
      }
    }
    this.#historyLimitEntries = limit;
    this.#beforeOperation = options.beforeOperation;
    this.#afterOperation = options.afterOperation;
  }

  /**
   * Reads the item. `consistent: false` returns it as it stood one applied write earlier.
   *
   * @throws {@link RecordInvalidError} if the stored item (see {@link MemoryTokenStore.seedRaw}) is not a valid record.
   * @example
   * ```ts
   * const record = await store.read({ consistent: true });
   * ```
   */
  read(options: ReadOptions): Promise<TokenRecord | undefined> {
    return this.#run('read', undefined, () => this.#decode(options.consistent ? this.#item : this.#previousItem));
  }

  /**
   * Applies `request` atomically if its condition holds; otherwise reports the current item.
   * An item that is not a valid record is never written: the write rejects with `RecordInvalidError`.
   *
   * @example
   * ```ts
   * const outcome = await store.write({ intent: 'release', condition: { exists: true, leaseId: 'l-1' }, set: {}, remove: ['leaseId'] });
   * ```
   */
  write(request: WriteRequest): Promise<WriteOutcome> {
    return this.#run('write', request, () => this.#writeNow(request));
  }

  /**
   * Always {@link MEMORY_STORE_DESCRIPTION}.
   *
   * @example
   * ```ts
   * new MemoryTokenStore().describe(); // 'memory store'
   * ```
   */
  describe(): string {
    return MEMORY_STORE_DESCRIPTION;
  }

  /**
   * Every applied write still kept, oldest first (see {@link MemoryTokenStore.historyDropped}).
   *
   * @example
   * ```ts
   * for (const { seq, before, after } of store.history()) check(seq, before, after);
   * ```
   */
  history(): readonly MemoryWriteEntry[] {
    return Object.freeze([...this.#history]);
  }

  /**
   * How many of the oldest history entries were dropped to respect `historyLimitEntries`.
   *
   * @example
   * ```ts
   * store.history()[0]?.seq === store.historyDropped + 1; // true
   * ```
   */
  get historyDropped(): number {
    return this.#historyDropped;
  }

  /**
   * The current record, synchronously and without running hooks.
   *
   * @throws {@link RecordInvalidError} if the stored item is not a valid record.
   * @example
   * ```ts
   * expect(store.snapshot()?.generation).toBe(2);
   * ```
   */
  snapshot(): TokenRecord | undefined {
    return this.#decode(this.#item);
  }

  /**
   * The stored item exactly as held, even if it is not a valid record.
   *
   * @example
   * ```ts
   * store.seedRaw({ owner: 'someone else' });
   * store.raw(); // { owner: 'someone else' }
   * ```
   */
  raw(): Readonly<Record<string, unknown>> | undefined {
    return this.#item;
  }

  /**
   * Presets the item (or removes it with `undefined`), as if it had always been there: no
   * history entry, and eventually consistent reads see it at once.
   *
   * @throws {@link RecordInvalidError} if `record` is not valid (use {@link MemoryTokenStore.seedRaw} for that).
   * @example
   * ```ts
   * store.seed({ schemaVersion: 1, revision: 7, generation: 3, token: 'tok', tokenIssuedAtMs: 0 });
   * ```
   */
  seed(record: TokenRecord | undefined): void {
    if (record !== undefined) decodeRecord(record as unknown as RawItem, { source: MEMORY_STORE_DESCRIPTION });
    this.seedRaw(record as unknown as RawItem | undefined);
  }

  /**
   * Presets the item without any check: models an item written by a newer Baton or by another
   * program. Reads then reject with `RecordInvalidError` and writes never change it.
   *
   * @example
   * ```ts
   * store.seedRaw({ schemaVersion: 2, revision: 1, generation: 0 });
   * ```
   */
  seedRaw(item: Readonly<Record<string, unknown>> | undefined): void {
    this.#item = item === undefined ? undefined : Object.freeze({ ...item });
    this.#previousItem = this.#item;
  }

  /**
   * Runs `action` at the linearization point: synchronously at call time when `beforeOperation`
   * is absent or synchronous, so that concurrent callers are ordered by call order.
   */
  #run<T>(operation: MemoryStoreOperation, request: WriteRequest | undefined, action: () => T): Promise<T> {
    let gate: void | Promise<void>;
    try {
      gate = this.#callHook(this.#beforeOperation, operation, request);
    } catch (error) {
      return Promise.reject(error);
    }
    if (gate instanceof Promise) return gate.then(() => this.#finish(operation, request, action));
    return this.#finish(operation, request, action);
  }

  #finish<T>(operation: MemoryStoreOperation, request: WriteRequest | undefined, action: () => T): Promise<T> {
    let result: T;
    let after: void | Promise<void>;
    try {
      result = action();
      after = this.#callHook(this.#afterOperation, operation, request);
    } catch (error) {
      return Promise.reject(error);
    }
    return after instanceof Promise ? after.then(() => result) : Promise.resolve(result);
  }

  #callHook(hook: MemoryStoreHook | undefined, operation: MemoryStoreOperation, request: WriteRequest | undefined): void | Promise<void> {
    if (hook === undefined) return undefined;
    return request === undefined ? hook(operation) : hook(operation, request);
  }

  #writeNow(request: WriteRequest): WriteOutcome {
    validateWriteRequest(request);
    // Decoding first means an invalid item makes every write reject, whatever its condition.
    const before = this.#decode(this.#item);
    if (!conditionHolds(request.condition, before)) return Object.freeze({ applied: false, current: before });
    const after = Object.freeze({ ...applyWrite(before, request) });
    invariant(recordProblems(after).length === 0, 'a validated write request yields a valid record');
    this.#previousItem = this.#item;
    this.#item = after;
    this.#remember({ seq: ++this.#seq, request: freezeRequest(request), before, after });
    return Object.freeze({ applied: true, record: after });
  }

  #remember(entry: MemoryWriteEntry): void {
    this.#history.push(Object.freeze(entry));
    if (this.#history.length > this.#historyLimitEntries) {
      this.#history.shift();
      this.#historyDropped += 1;
    }
  }

  #decode(item: RawItem | undefined): TokenRecord | undefined {
    // Records are flat, so freezing the decoded copy makes it deeply immutable.
    return item === undefined ? undefined : Object.freeze(decodeRecord(item, { source: MEMORY_STORE_DESCRIPTION }));
  }
}

/** A frozen copy, so a caller mutating its request object cannot rewrite history. */
function freezeRequest(request: WriteRequest): WriteRequest {
  return Object.freeze({
    intent: request.intent,
    condition: Object.freeze({ ...request.condition }),
    set: Object.freeze({ ...request.set }),
    remove: Object.freeze([...request.remove]),
  });
}
