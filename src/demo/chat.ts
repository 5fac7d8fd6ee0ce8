import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { FakeChatApi } from '../fake/chat-api.js';
import { startFakeChatServer } from '../fake/chat-server.js';
import type { FakeChatServer } from '../fake/chat-server.js';

/** Token lifetime at the fake chat API: far longer than any run, so only an injected expiry expires a token. */
export const TOKEN_TTL_MS = 6 * 60 * 60 * 1000;
/**
 * Most requests the fake chat server may hold in injected latency at once without a warning: the
 * server cancels every pending latency wait through one shared signal, one listener per request.
 */
export const PENDING_LATENCY_WAITS_MAX = 1_000;
/** Bytes of the random bot secret (never printed). */
export const SECRET_BYTES = 24;

/** The fake chat service of one run. */
export interface DemoChat {
  readonly server: FakeChatServer;
  /** The secret the bot sends to `POST /auth`; passed to workers through their environment only. */
  readonly secret: string;
}

/**
 * Starts the fake chat API over HTTP on 127.0.0.1 with a fresh random secret.
 *
 * @example
 * ```ts
 * const chat = await startChat({ seed: 7, authLatencyMs: 300, messageLatencyMs: 20 });
 * ```
 */
export async function startChat(options: { readonly seed: number; readonly authLatencyMs: number; readonly messageLatencyMs: number }): Promise<DemoChat> {
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const api = new FakeChatApi({ secret, clock: { now: () => Date.now() }, tokenTtlMs: TOKEN_TTL_MS, seed: options.seed });
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
  return { server, secret };
}
