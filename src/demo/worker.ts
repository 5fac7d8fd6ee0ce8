/**
 * One Lambda-like instance: a child process that builds the bot handler once (the "init phase"),
 * then serves one invocation at a time for the pool, forwarding every Baton event over IPC.
 * Started by the pool with `child_process.fork`; exits when told to or when the parent goes away.
 */
import { createHandler } from '../lambda/handler.js';
import type { BotHandler } from '../lambda/handler.js';
import { loadBotConfig } from '../lambda/config.js';
import type { HttpApiEventV2 } from '../lambda/http.js';
import type { Logger } from '../runtime/api.js';
import { isParentMessage } from './ipc.js';
import type { HandlerResult, ParentMessage, WorkerMessage } from './ipc.js';
import { createRng } from './rng.js';
import { WORKER_ENV, parseClockSkewMs } from './worker-env.js';

/** Sends to the parent; drops the message if the channel is gone (the parent exited). */
function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

/** Warnings and errors go to stderr (kept by the pool for diagnostics); per-invocation info lines are dropped. */
const quietLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, ...details) => process.stderr.write(`${message} ${details.length > 0 ? JSON.stringify(details) : ''}\n`),
  error: (message, ...details) => process.stderr.write(`${message} ${details.length > 0 ? JSON.stringify(details) : ''}\n`),
};

function init(): BotHandler | undefined {
  const startedMs = Date.now();
  const lane = process.env[WORKER_ENV.lane] ?? `pid-${process.pid}`;
  const seed = Number(process.env[WORKER_ENV.seed] ?? '0');
  const rng = createRng(Number.isSafeInteger(seed) ? seed : 0).fork(`coordinator:${lane}`);
  try {
    // A skewed clock (tests only) goes to the handler and its coordinator; unset, the system clock.
    const clockSkewMs = parseClockSkewMs(process.env[WORKER_ENV.clockSkewMs]);
    const handler = createHandler(loadBotConfig(process.env), {
      ...(clockSkewMs === 0 ? {} : { clock: { now: () => Date.now() + clockSkewMs } }),
      logger: quietLogger,
      onEvent: (event) => send({ type: 'event', event }),
      coordinatorOptions: { instanceId: lane, random: () => rng.next() },
    });
    send({ type: 'ready', initMs: Date.now() - startedMs });
    return handler;
  } catch (error) {
    send({ type: 'init-failed', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    return undefined;
  }
}

async function invoke(handler: BotHandler, message: Extract<ParentMessage, { type: 'invoke' }>): Promise<void> {
  try {
    const result = await handler(message.event as unknown as HttpApiEventV2, {
      awsRequestId: message.requestId,
      getRemainingTimeInMillis: () => Math.max(0, message.deadlineAtMs - Date.now()),
    });
    const answer: HandlerResult = { statusCode: result.statusCode, headers: result.headers, body: result.body };
    send({ type: 'result', id: message.id, result: answer });
  } catch (error) {
    send({ type: 'invoke-failed', id: message.id, message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
}

const handler = init();
process.on('disconnect', () => process.exit(0));
process.on('message', (raw: unknown) => {
  if (!isParentMessage(raw)) return;
  if (raw.type === 'shutdown') {
    process.exit(0);
  }
  if (raw.type === 'invoke' && handler !== undefined) void invoke(handler, raw);
});
if (handler === undefined) setTimeout(() => process.exit(1), 100).unref();
