/**
 * `naive`: the usual first attempt. On a 401 each instance re-reads the item; if it still holds
 * the token that failed, the instance calls `POST /auth` itself and writes the result — no lock,
 * no condition. Every such call invalidates every other instance's token, which is the stampede.
 */
import type { BenchEnv, Strategy, StrategyInstance } from '../core/strategy.js';

/** Item key of the shared token. */
export const NAIVE_TOKEN_KEY = 'naive-token';
/** Posts per message: the first try plus retries after a refresh. */
export const NAIVE_ATTEMPTS_MAX = 3;

/**
 * The naive strategy.
 *
 * @example
 * ```ts
 * const instance = naiveStrategy().create(env);
 * await instance.deliver('m-1');
 * ```
 */
export function naiveStrategy(): Strategy {
  return { name: 'naive', modes: ['virtual', 'wall'], create: createNaiveInstance };
}

function createNaiveInstance(env: BenchEnv): StrategyInstance {
  let cached: string | undefined;

  /** The stored token if it is not `failed`; otherwise a fresh one from `POST /auth`, written for everyone. */
  const replace = async (failed: string | undefined): Promise<string> => {
    const item = await env.itemStore.get(NAIVE_TOKEN_KEY);
    const stored = typeof item?.['token'] === 'string' ? item['token'] : undefined;
    if (stored !== undefined && stored !== failed) return stored;
    const token = await env.issue();
    await env.itemStore.put(NAIVE_TOKEN_KEY, { token });
    return token;
  };

  return {
    async deliver(messageId) {
      let failed: string | undefined;
      for (let attempt = 1; attempt <= NAIVE_ATTEMPTS_MAX; attempt += 1) {
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
