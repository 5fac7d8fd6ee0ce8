/**
 * The `lock-client` strategy (wall-clock mode only): the npm package `dynamodb-lock-client`, a real
 * third-party DynamoDB lock, guards the refresh. On a 401 an instance takes the lock (a
 * `FailClosed` lock: a conditional put of a lock item, deleted on release), re-reads the token
 * item, calls `POST /auth` and writes the token only if the item still holds the token that
 * failed, then releases the lock. An instance that cannot get the lock (the library retries once
 * after `acquirePeriodMs`) re-reads the item and adopts a newer token, or tries the lock again.
 *
 * What it does not have, on purpose (it is the library's model): a lock that outlives its holder.
 * A `FailClosed` lock of a process killed while refreshing is never released, so the fleet cannot
 * refresh again until someone deletes it by hand; the holder-crash scenario shows that cost.
 *
 * The library needs the AWS SDK v2 `DocumentClient`; both are dev dependencies, loaded lazily so
 * merely importing this module (e.g. from the shared strategies index) costs nothing.
 */
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import type { BenchEnv, Strategy, StrategyInstance, WallEnv } from '../core/strategy.js';

/**
 * How long the library waits before its second try for the lock, ms. Its documentation: "whatever
 * operation this lock is protecting should take less time than acquirePeriodMs"; the refresh is a
 * read, a 300 ms `POST /auth`, a write and a delete, so 500 ms with room for DynamoDB round trips.
 */
export const LOCK_ACQUIRE_PERIOD_MS = 500;
/** Tries of the lock per `acquireLock` call after the first (the library's default). */
export const LOCK_RETRY_COUNT = 1;
/** Longest one refresh (lock, re-read, `POST /auth`, write, or waiting for another's) may take, ms. */
export const REFRESH_WAIT_MS_MAX = 10_000;
/** Posts of one message in all (the first plus one per refreshed token). */
export const DELIVER_ATTEMPTS_MAX = 3;
/** Key of the token item in the bench's item table. */
export const TOKEN_ITEM_KEY = 'lock-client-token';
/** Attempts of one v2 SDK call (its own retries), and its bounds in ms: a dead endpoint cannot hang an instance. */
const SDK_V2_RETRIES_MAX = 2;
const SDK_V2_CALL_MS_MAX = 5_000;
const SDK_V2_CONNECT_MS_MAX = 1_000;

/** The few parts of the AWS SDK v2 `DocumentClient` the library calls. */
interface DocumentClientV2 {
  get(params: object, callback: (error: Error | null, data: unknown) => void): unknown;
  put(params: object, callback: (error: Error | null, data: unknown) => void): unknown;
  delete(params: object, callback: (error: Error | null, data: unknown) => void): unknown;
}

/** The `aws-sdk` (v2) module, as far as used here. */
interface AwsSdkV2 {
  readonly DynamoDB: (new (options: object) => object) & { readonly DocumentClient: new (options: { service: object }) => DocumentClientV2 };
}

/** An acquired lock (an `EventEmitter` in the library). */
interface LibraryLock {
  release(callback: (error?: Error) => void): void;
}

/** The library's error, with its `code` (`FailedToAcquireLock`, `FailedToReleaseLock`). */
type LibraryError = Error & { readonly code?: string };

/** The `dynamodb-lock-client` module, as far as used here. */
interface LockClientModule {
  readonly FailClosed: new (config: {
    readonly dynamodb: DocumentClientV2;
    readonly lockTable: string;
    readonly partitionKey: string;
    readonly acquirePeriodMs: number;
    readonly retryCount: number;
    readonly owner: string;
  }) => { acquireLock(id: string, callback: (error: LibraryError | undefined, lock: LibraryLock | undefined) => void): void };
}

const require = createRequire(import.meta.url);
/** One v2 service client per endpoint and process (the library and the SDK are loaded at the first instance). */
const serviceClients = new Map<string, object>();

function loadLibraries(): { readonly aws: AwsSdkV2; readonly locks: LockClientModule } {
  // The v2 SDK prints a maintenance-mode notice at load; the bench's output must stay readable.
  process.env['AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE'] ??= '1';
  return { aws: require('aws-sdk') as AwsSdkV2, locks: require('dynamodb-lock-client') as LockClientModule };
}

/** A `DocumentClient` on the bench's endpoint whose every call is counted as one DynamoDB read or write. */
function countedDocumentClient(aws: AwsSdkV2, wall: WallEnv): DocumentClientV2 {
  let service = serviceClients.get(wall.endpoint);
  if (service === undefined) {
    service = new aws.DynamoDB({
      endpoint: wall.endpoint,
      region: wall.region,
      accessKeyId: 'local',
      secretAccessKey: 'local',
      maxRetries: SDK_V2_RETRIES_MAX,
      httpOptions: { timeout: SDK_V2_CALL_MS_MAX, connectTimeout: SDK_V2_CONNECT_MS_MAX, agent: new Agent({ keepAlive: true }) },
    });
    serviceClients.set(wall.endpoint, service);
  }
  const documents = new aws.DynamoDB.DocumentClient({ service });
  return {
    get: (params, callback) => {
      wall.countDdb('read');
      return documents.get(params, callback);
    },
    put: (params, callback) => {
      wall.countDdb('write');
      return documents.put(params, callback);
    },
    delete: (params, callback) => {
      wall.countDdb('write');
      return documents.delete(params, callback);
    },
  };
}

class LockClientInstance implements StrategyInstance {
  readonly #env: BenchEnv;
  readonly #lockId: string;
  readonly #locks: InstanceType<LockClientModule['FailClosed']>;
  #token: string | undefined;
  /** One refresh at a time per instance; concurrent callers share it. */
  #refreshing: Promise<string | undefined> | undefined;

  constructor(env: BenchEnv, wall: WallEnv) {
    const { aws, locks } = loadLibraries();
    this.#env = env;
    this.#lockId = `${wall.namespace}#token-refresh`;
    this.#locks = new locks.FailClosed({
      dynamodb: countedDocumentClient(aws, wall),
      lockTable: wall.lockTable,
      partitionKey: wall.lockPartitionKey,
      acquirePeriodMs: LOCK_ACQUIRE_PERIOD_MS,
      retryCount: LOCK_RETRY_COUNT,
      owner: env.instanceId,
    });
  }

  async deliver(messageId: string): Promise<boolean> {
    let token = this.#token ?? (await this.#readToken()) ?? (await this.#refresh(undefined));
    for (let attempt = 1; attempt <= DELIVER_ATTEMPTS_MAX; attempt += 1) {
      if (token === undefined) return false;
      if ((await this.#env.post(token, messageId)) === 'delivered') {
        this.#token = token;
        return true;
      }
      this.#token = undefined;
      if (attempt < DELIVER_ATTEMPTS_MAX) token = await this.#refresh(token);
    }
    return false;
  }

  async close(): Promise<void> {
    await this.#refreshing?.catch(() => undefined);
  }

  #refresh(failed: string | undefined): Promise<string | undefined> {
    this.#refreshing ??= this.#refreshOnce(failed).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Lock, re-read, refresh if still stale, release; or adopt a newer token someone else stored. */
  async #refreshOnce(failed: string | undefined): Promise<string | undefined> {
    const deadlineMs = this.#env.now() + REFRESH_WAIT_MS_MAX;
    while (this.#env.now() < deadlineMs) {
      const lock = await this.#acquire();
      if (lock !== undefined) {
        try {
          const stored = await this.#readToken();
          if (stored !== undefined && stored !== failed) return stored;
          const token = await this.#env.issue();
          await this.#env.itemStore.put(TOKEN_ITEM_KEY, { token });
          return token;
        } finally {
          await this.#release(lock);
        }
      }
      const stored = await this.#readToken();
      if (stored !== undefined && stored !== failed) return stored;
    }
    return undefined;
  }

  async #readToken(): Promise<string | undefined> {
    const item = await this.#env.itemStore.get(TOKEN_ITEM_KEY);
    const token = item?.['token'];
    return typeof token === 'string' ? token : undefined;
  }

  /** The lock, or `undefined` when another instance holds it (after the library's own retry). */
  #acquire(): Promise<LibraryLock | undefined> {
    return new Promise((resolve, reject) => {
      this.#locks.acquireLock(this.#lockId, (error, lock) => {
        if (error === undefined || error === null) resolve(lock);
        else if (error.code === 'FailedToAcquireLock') resolve(undefined);
        else reject(error);
      });
    });
  }

  /** Releases; a lock that is already gone is nothing to act on (the refresh is done either way). */
  #release(lock: LibraryLock): Promise<void> {
    return new Promise((resolve) => lock.release(() => resolve()));
  }
}

/**
 * `dynamodb-lock-client` (FailClosed) guarding the refresh. Wall-clock mode only: it needs
 * `env.wall` (the real endpoint) for its own AWS SDK v2 client.
 *
 * @example
 * ```ts
 * const instance = lockClientStrategy.create(env); // env.wall set by the wall-clock bench
 * await instance.deliver('m-1');
 * ```
 */
export const lockClientStrategy: Strategy = {
  name: 'lock-client',
  modes: ['wall'],
  create(env: BenchEnv): StrategyInstance {
    if (env.wall === undefined) throw new Error('lock-client runs in wall-clock mode only: it needs env.wall (a real DynamoDB endpoint)');
    return new LockClientInstance(env, env.wall);
  },
};
