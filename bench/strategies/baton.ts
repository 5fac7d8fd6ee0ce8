/**
 * `baton`: this project. One coordinator per instance over the instance's counted store; the
 * message function throws `TokenRejectedError` on a 401, exactly as the README tells users to.
 */
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import { TokenRejectedError } from '../../src/runtime/errors.js';
import type { IssuedToken } from '../../src/runtime/api.js';
import type { BatonTuning } from '../core/scenarios.js';
import type { BenchEnv, Strategy, StrategyInstance } from '../core/strategy.js';

/**
 * The Baton strategy with library defaults plus `tuning` (documented in docs/benchmarks.md).
 *
 * @example
 * ```ts
 * const strategy = batonStrategy({ leaseMs: 1_500 });
 * const instance = strategy.create(env);
 * await instance.deliver('m-1'); // true when delivered
 * ```
 */
export function batonStrategy(tuning: BatonTuning = {}): Strategy {
  return {
    name: 'baton',
    modes: ['virtual', 'wall'],
    create: (env) => createBatonInstance(env, tuning),
  };
}

function createBatonInstance(env: BenchEnv, tuning: BatonTuning): StrategyInstance {
  const coordinator = createTokenCoordinator({
    store: env.tokenStore,
    issueToken: async ({ signal }): Promise<IssuedToken> => {
      const token = await env.issue(signal);
      // Like an `expires_in` answer: the expiry is computed on this instance's clock.
      return env.tokenTtlMs === undefined ? { token } : { token, expiresAtMs: env.now() + env.tokenTtlMs };
    },
    clock: { now: () => env.now() },
    scheduler: env.scheduler,
    random: env.random,
    instanceId: env.instanceId,
    ...tuning,
  });
  const send = async (token: string, messageId: string): Promise<void> => {
    if ((await env.post(token, messageId)) === 'rejected') throw new TokenRejectedError('chat API answered 401');
  };
  return {
    async deliver(messageId) {
      try {
        await coordinator.withToken((token) => send(token, messageId));
        return true;
      } catch {
        // Attempts exhausted, no token before the deadline, issuer unavailable: the message is lost.
        return false;
      }
    },
    close: () => Promise.resolve(),
  };
}
