/**
 * One wall-clock bench worker: a separate OS process that hosts one strategy instance at a time
 * and delivers messages through it, one after another with a jittered gap, until told to stop.
 * It reports every DynamoDB call, every `POST /auth` start and end, and every lost message to the
 * parent over IPC. It exits when the parent goes away (the IPC channel closes), so a killed bench
 * leaves no orphan.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StrategyInstance } from '../core/strategy.js';
import { createWallEnv } from './env.js';
import { isToWorker } from './ipc.js';
import type { FromWorker, WorkerAssignment } from './ipc.js';
import { loadStrategy } from './load-strategy.js';
import { SECRET_ENV } from './worker-env.js';

/**
 * Longest `stop` waits for the message in flight and `close()`, ms. A worker whose instance is
 * still stuck after it (e.g. waiting for a lock nobody will release) exits instead of hosting the
 * next run next to a leftover; the pool starts a fresh process.
 */
export const STOP_WAIT_MS_MAX = 3_000;
/** Placeholder credentials for the local endpoint. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

interface Hosted {
  readonly assignment: WorkerAssignment;
  readonly instance: StrategyInstance;
  running: boolean;
  /** The delivery loop; resolves when it has stopped. */
  loop: Promise<void>;
  sent: number;
  lost: number;
  wake: (() => void) | undefined;
}

function send(message: FromWorker): void {
  if (process.connected) process.send?.(message);
}

const secret = process.env[SECRET_ENV] ?? '';
const clients = new Map<string, DynamoDBClient>();
let hosted: Hosted | undefined;

function clientFor(assignment: WorkerAssignment): DynamoDBClient {
  const key = `${assignment.dynamo.endpoint}|${assignment.dynamo.region}`;
  let client = clients.get(key);
  if (client === undefined) {
    client = new DynamoDBClient({ endpoint: assignment.dynamo.endpoint, region: assignment.dynamo.region, credentials: LOCAL_CREDENTIALS });
    clients.set(key, client);
  }
  return client;
}

async function start(assignment: WorkerAssignment): Promise<void> {
  if (hosted !== undefined) {
    send({ type: 'start-failed', message: `worker already hosts ${hosted.assignment.instanceId}` });
    return;
  }
  try {
    const strategy = loadStrategy(assignment.strategy, assignment.scenario);
    const { instanceId } = assignment;
    const env = createWallEnv({
      assignment,
      client: clientFor(assignment),
      secret,
      report: {
        ddb: (kind) => send({ type: 'ddb', instanceId, kind }),
        auth: (phase) => send({ type: 'auth', instanceId, phase }),
      },
    });
    const state: Hosted = { assignment, instance: strategy.create(env), running: true, loop: Promise.resolve(), sent: 0, lost: 0, wake: undefined };
    hosted = state;
    state.loop = deliverLoop(state, env.random);
    send({ type: 'started', instanceId });
  } catch (error) {
    send({ type: 'start-failed', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
}

async function deliverLoop(state: Hosted, random: () => number): Promise<void> {
  const { instanceId, messageGapMs } = state.assignment;
  // A random first pause, so that instances started together do not post in lockstep.
  await pause(state, random() * messageGapMs);
  while (state.running) {
    state.sent += 1;
    const messageId = `${instanceId}-${state.sent}`;
    try {
      if (!(await state.instance.deliver(messageId))) {
        state.lost += 1;
        send({ type: 'lost', instanceId, messageId, reason: 'strategy gave up' });
      }
    } catch (error) {
      state.lost += 1;
      // Error messages of the env and strategies never carry a token (the env's name only the HTTP status).
      send({ type: 'lost', instanceId, messageId, reason: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 200) : 'error' });
    }
    await pause(state, messageGapMs * (0.5 + random()));
  }
}

/** Sleeps `ms`, or less when `stop` arrives. */
function pause(state: Hosted, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      state.wake = undefined;
      resolve();
    }
    state.wake = done;
  });
}

async function stop(): Promise<void> {
  const state = hosted;
  if (state === undefined) return;
  state.running = false;
  state.wake?.();
  const finished = Promise.race([
    state.loop.then(() => state.instance.close()).then(() => true, () => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_WAIT_MS_MAX).unref()),
  ]);
  const clean = await finished;
  hosted = undefined;
  const stopped: FromWorker = { type: 'stopped', instanceId: state.assignment.instanceId, sent: state.sent, lost: state.lost, clean };
  if (clean) {
    send(stopped);
    return;
  }
  // Exit only once the answer has left (IPC sends are asynchronous).
  if (process.connected) process.send?.(stopped, () => process.exit(0));
  else process.exit(0);
}

process.on('disconnect', () => process.exit(0));
process.on('message', (raw: unknown) => {
  if (!isToWorker(raw)) return;
  if (raw.type === 'start') void start(raw.assignment);
  else void stop();
});
send({ type: 'ready' });
