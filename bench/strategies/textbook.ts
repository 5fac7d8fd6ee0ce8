/**
 * `textbook`: a lock item holding a random owner id and a wall-clock timestamp. Whoever writes
 * the lock (conditional on its absence) refreshes; the others poll every 200 ms and take the lock
 * over once its timestamp looks 1.5 s old *on their own clock*. The token is published with a
 * plain put: no fencing and no generation check, so a holder that was taken over still
 * overwrites the item with its (possibly dead) token.
 */
import { TEXTBOOK_POLL_MS, TEXTBOOK_TAKEOVER_MS } from '../core/scenarios.js';
import type { BenchEnv, Strategy, StrategyInstance } from '../core/strategy.js';

/** Item key of the shared token. */
export const TEXTBOOK_TOKEN_KEY = 'textbook-token';
/** Item key of the lock. */
export const TEXTBOOK_LOCK_KEY = 'textbook-lock';
/** Posts per message: the first try plus retries after a refresh. */
export const TEXTBOOK_ATTEMPTS_MAX = 3;
/** Longest wait for a token per message (like Baton's default `waitMsMax`). */
export const TEXTBOOK_WAIT_MS_MAX = 30_000;
/** Lock polls one wait may take (the wait bound plus slack for the reads in between). */
const ROUNDS_MAX = Math.ceil(TEXTBOOK_WAIT_MS_MAX / TEXTBOOK_POLL_MS) + 10;

/**
 * The textbook lock strategy.
 *
 * @example
 * ```ts
 * const instance = textbookStrategy().create(env);
 * await instance.deliver('m-1');
 * ```
 */
export function textbookStrategy(): Strategy {
  return { name: 'textbook', modes: ['virtual', 'wall'], create: createTextbookInstance };
}

function ownerId(env: BenchEnv): string {
  let id = `${env.instanceId}-`;
  for (let i = 0; i < 12; i += 1) id += Math.floor(env.random() * 16).toString(16);
  return id;
}

function storedToken(item: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const token = item?.['token'];
  return typeof token === 'string' ? token : undefined;
}

function createTextbookInstance(env: BenchEnv): StrategyInstance {
  const store = env.itemStore;
  let cached: string | undefined;

  /** Holds the lock: calls `POST /auth`, publishes with a plain put, releases. */
  const refreshUnderLock = async (owner: string, failed: string | undefined): Promise<string> => {
    try {
      // Double-checked locking: someone may have published between our read and our lock.
      const stored = storedToken(await store.get(TEXTBOOK_TOKEN_KEY));
      if (stored !== undefined && stored !== failed) return stored;
      const token = await env.issue();
      await store.put(TEXTBOOK_TOKEN_KEY, { token });
      return token;
    } finally {
      await store.delete(TEXTBOOK_LOCK_KEY, { owner });
    }
  };

  /** A token other than `failed`: adopted from the item, or refreshed under the lock. */
  const replace = async (failed: string | undefined): Promise<string> => {
    const startedAtMs = env.now();
    for (let round = 0; round < ROUNDS_MAX; round += 1) {
      const stored = storedToken(await store.get(TEXTBOOK_TOKEN_KEY));
      if (stored !== undefined && stored !== failed) return stored;
      const owner = ownerId(env);
      if (await store.put(TEXTBOOK_LOCK_KEY, { owner, atMs: env.now() }, { owner: null })) return refreshUnderLock(owner, failed);
      const lock = await store.get(TEXTBOOK_LOCK_KEY);
      const lockAtMs = lock?.['atMs'];
      const lockOwner = lock?.['owner'];
      // The textbook staleness test: the holder's timestamp against our own clock.
      if (typeof lockAtMs === 'number' && typeof lockOwner === 'string' && env.now() - lockAtMs > TEXTBOOK_TAKEOVER_MS) {
        if (await store.put(TEXTBOOK_LOCK_KEY, { owner, atMs: env.now() }, { owner: lockOwner })) return refreshUnderLock(owner, failed);
      }
      if (env.now() - startedAtMs > TEXTBOOK_WAIT_MS_MAX) break;
      await env.sleep(TEXTBOOK_POLL_MS);
    }
    throw new Error('textbook: no token before the wait ran out');
  };

  return {
    async deliver(messageId) {
      let failed: string | undefined;
      for (let attempt = 1; attempt <= TEXTBOOK_ATTEMPTS_MAX; attempt += 1) {
        try {
          const token = cached !== undefined && cached !== failed ? cached : await replace(failed);
          cached = token;
          if ((await env.post(token, messageId)) === 'delivered') return true;
          failed = token;
        } catch {
          return false;
        }
      }
      return false;
    },
    close: () => Promise.resolve(),
  };
}
