/**
 * The fake chat API of one wall-clock run, observed: the bench learns of every `POST /auth` and
 * every accepted message the moment the model decides it, on the parent's clock, without polling
 * the server's bounded log. Settle times are measured from these observations.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { FakeChatApi } from '../../src/fake/chat-api.js';
import type { AuthResult, FakeChatApiOptions, PostMessageResult } from '../../src/fake/chat-api.js';
import { startFakeChatServer } from '../../src/fake/chat-server.js';
import type { FakeChatServer } from '../../src/fake/chat-server.js';

/** Token lifetime at the fake API: longer than any run, so only the expiry scenario expires a token. */
export const TOKEN_TTL_MS = 6 * 60 * 60 * 1000;
/** Requests the server may hold in injected latency at once without a listener warning. */
const PENDING_LATENCY_WAITS_MAX = 1_000;

/** What the bench is told, synchronously, as the model decides. */
export interface ChatObserver {
  /** A `POST /auth` was processed (any outcome). */
  auth(result: AuthResult, atMs: number): void;
  /** A message was accepted for the first time with the token of `generation`. */
  accepted(messageId: string, generation: number, atMs: number): void;
}

/** A {@link FakeChatApi} that reports auth calls and first deliveries to an observer. */
class ObservedChatApi extends FakeChatApi {
  readonly #observer: ChatObserver;

  constructor(options: FakeChatApiOptions, observer: ChatObserver) {
    super(options);
    this.#observer = observer;
  }

  override auth(secret: unknown): AuthResult {
    const result = super.auth(secret);
    this.#observer.auth(result, Date.now());
    return result;
  }

  override postMessage(bearer: string | undefined, message: unknown): PostMessageResult {
    const result = super.postMessage(bearer, message);
    const generation = this.current()?.generation;
    if (result.status === 200 && !result.duplicate && generation !== undefined) {
      this.#observer.accepted((message as { messageId: string }).messageId, generation, Date.now());
    }
    return result;
  }
}

/** The chat service of one run. */
export interface WallChat {
  readonly server: FakeChatServer;
  readonly api: FakeChatApi;
}

/**
 * Starts an observed fake chat server on 127.0.0.1 (free port).
 *
 * @example
 * ```ts
 * const chat = await startWallChat({ secret, seed: 1, authLatencyMs: 300, messageLatencyMs: 10, observer });
 * ```
 */
export async function startWallChat(options: {
  readonly secret: string;
  readonly seed: number;
  readonly authLatencyMs: number;
  readonly messageLatencyMs: number;
  readonly observer: ChatObserver;
}): Promise<WallChat> {
  const api = new ObservedChatApi({ secret: options.secret, clock: { now: () => Date.now() }, tokenTtlMs: TOKEN_TTL_MS, seed: options.seed }, options.observer);
  const server = await startFakeChatServer({
    api,
    port: 0,
    authLatencyMs: options.authLatencyMs,
    messageLatencyMs: options.messageLatencyMs,
    sleep: async (ms, signal) => {
      setMaxListeners(PENDING_LATENCY_WAITS_MAX, signal);
      await delay(ms, undefined, { signal });
    },
  });
  return { server, api };
}

