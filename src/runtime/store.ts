import type { TokenRecord, WriteOutcome, WriteRequest } from '../machine/record.js';

/** How to read the item. */
export interface ReadOptions {
  /**
   * Strongly consistent read. The protocol always asks for `true`; `false` exists only so tests
   * can show what an eventually consistent read would break.
   */
  readonly consistent: boolean;
}

/**
 * The store port: one item, linearizable conditional writes, consistent reads.
 * Implemented by {@link DynamoDBTokenStore} and {@link MemoryTokenStore}, which pass the same
 * contract tests.
 *
 * Errors: a failed condition is a normal {@link WriteOutcome}. Anything else (timeout, throttling,
 * network) rejects; for writes that means *the write may or may not have been applied* and the
 * protocol reads back to find out. Misconfiguration rejects with `StoreMisconfiguredError`, a
 * malformed item with `RecordInvalidError`.
 *
 * @example
 * ```ts
 * const store: TokenStore = new MemoryTokenStore();
 * const record = await store.read({ consistent: true });
 * ```
 */
export interface TokenStore {
  /** Reads the item; `undefined` if it does not exist. */
  read(options: ReadOptions): Promise<TokenRecord | undefined>;
  /** Applies `request` atomically if its condition holds. */
  write(request: WriteRequest): Promise<WriteOutcome>;
  /** Where the item lives, for error messages and logs (never contains secrets). */
  describe(): string;
}
