/**
 * Wraps Baton's store port so the bench counts its DynamoDB calls per port call (one read per
 * `read`, one write per `write`), the same unit the virtual-time store counts.
 */
import type { TokenRecord, WriteOutcome, WriteRequest } from '../../src/machine/record.js';
import type { ReadOptions, TokenStore } from '../../src/runtime/store.js';

/**
 * A {@link TokenStore} that reports each call to `count` before delegating.
 *
 * @example
 * ```ts
 * const store = countedTokenStore(new DynamoDBTokenStore({ client, tableName, key }), (kind) => counters[kind]++);
 * ```
 */
export function countedTokenStore(inner: TokenStore, count: (kind: 'read' | 'write') => void): TokenStore {
  return {
    read(options: ReadOptions): Promise<TokenRecord | undefined> {
      count('read');
      return inner.read(options);
    },
    write(request: WriteRequest): Promise<WriteOutcome> {
      count('write');
      return inner.write(request);
    },
    describe: () => inner.describe(),
  };
}
