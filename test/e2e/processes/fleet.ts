/**
 * A fleet of real OS processes, each running the bot Lambda handler once loaded (the demo's
 * worker, `dist/demo/worker.js`), against DynamoDB Local (through a recording proxy) and the fake
 * chat API over HTTP. Unlike the demo's pool, which picks a random idle instance like Lambda, the
 * fleet lets a test address one worker by lane: that is how a test makes a chosen instance the
 * lease holder and then kills, freezes or skews exactly that one.
 *
 * Everything that happens is kept as history: every protocol event each worker forwards, every
 * delivery attempt of every webhook, the chat API's log, and every DynamoDB call with the item as
 * DynamoDB returned it. `writeReport` saves it as JSON under `reports/e2e-processes/`.
 *
 * No process outlives the test: `close()` (and, for a test process that exits without it, an
 * `exit` hook) continues stopped workers and kills every one; a frozen worker also gets a
 * watchdog shell that continues and kills it should the test process die abruptly.
 */
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { toHttp } from '../../../src/demo/endpoint.js';
import { isWorkerMessage } from '../../../src/demo/ipc.js';
import type { FunctionUrlEvent, HandlerResult, ParentMessage, WorkerMessage } from '../../../src/demo/ipc.js';
import { toFunctionUrlEvent } from '../../../src/demo/payload.js';
import type { InvokeOutcome } from '../../../src/demo/pool.js';
import { WORKER_ENV } from '../../../src/demo/worker-env.js';
import { FakeChatApi } from '../../../src/fake/chat-api.js';
import type { ChatLogEntry } from '../../../src/fake/chat-api.js';
import { startFakeChatServer } from '../../../src/fake/chat-server.js';
import type { FakeChatServer } from '../../../src/fake/chat-server.js';
import { replyIdFor } from '../../../src/lambda/reply.js';
import type { BatonEvent } from '../../../src/runtime/events.js';
import { DYNAMODB_LOCAL_CREDENTIALS, DYNAMODB_LOCAL_REGION } from '../../support/dynamodb-local.js';
import { recordedItem, startDynamoDBRecorder } from './dynamodb-recorder.js';
import type { DynamoDBRecorder, HeldRequest, RecordedCall, RecordedItem } from './dynamodb-recorder.js';

/** The worker runs from the build (`npm test` builds before vitest runs). */
export const WORKER_JS = fileURLToPath(new URL('../../../dist/demo/worker.js', import.meta.url));
/** Where `writeReport` puts the histories (git-ignored). */
export const REPORT_DIRECTORY = fileURLToPath(new URL('../../../reports/e2e-processes/', import.meta.url));

/** Longest a worker may take from `fork` to `ready` (a cold Node loading the AWS SDK on a loaded CI box). */
const WORKER_START_TIMEOUT_MS = 30_000;
/** Lambda-like timeout of one invocation: a worker still busy after this is killed. */
export const INVOCATION_TIMEOUT_MS = 25_000;
/** `close()` waits this long for killed workers to be reaped. */
const CLOSE_WAIT_MS = 5_000;
/** Condition polls of `waitFor`. */
const WAIT_POLL_MS = 10;
/** Output lines kept per worker for diagnostics. */
const OUTPUT_LINES_MAX = 200;
/** Coordinator states of an instance with nothing to do. */
const QUIESCENT_STATES: ReadonlySet<string> = new Set(['idle', 'using']);

/**
 * How the fake chat service redelivers a webhook whose delivery failed (5xx or no answer).
 *
 * @example
 * ```ts
 * const policy: RedeliveryPolicy = { deliveriesMax: 5, waitMsMax: 2_000 };
 * ```
 */
export interface RedeliveryPolicy {
  /** Deliveries in all, the first one included. */
  readonly deliveriesMax: number;
  /** Longest wait before a redelivery; `Retry-After` is honoured up to this. */
  readonly waitMsMax: number;
}

/** The chat service's redelivery: 5 deliveries, `Retry-After` honoured up to 2 s. */
export const CHAT_SERVICE_REDELIVERY: RedeliveryPolicy = { deliveriesMax: 5, waitMsMax: 2_000 };
/** Wait before redelivering after a delivery got no usable answer and no `Retry-After`. */
const REDELIVERY_WAIT_MS_DEFAULT = 1_000;

/**
 * Shared infrastructure of the fleets of one test file.
 *
 * @example
 * ```ts
 * const infra: FleetInfrastructure = { dynamodbEndpoint: local.endpoint, tableName: 'baton-processes' };
 * ```
 */
export interface FleetInfrastructure {
  /** DynamoDB Local's endpoint (the fleet puts its recorder in front of it). */
  readonly dynamodbEndpoint: string;
  /** An existing token table there. */
  readonly tableName: string;
}

/**
 * Options of {@link Fleet.start}.
 *
 * @example
 * ```ts
 * const options: FleetOptions = { label: 'kill', workers: 8, leaseMs: 2_000, authLatencyMs: 800 };
 * ```
 */
export interface FleetOptions {
  /** Names the item key and the report; unique per test. */
  readonly label: string;
  /** Worker processes (lanes `p01`, `p02`, …). */
  readonly workers: number;
  /** `BATON_LEASE_MS` of every worker. */
  readonly leaseMs: number;
  /** Latency of the fake chat API's `POST /auth`. */
  readonly authLatencyMs: number;
  /**
   * Clock offset of some workers, by lane (`BATON_CLOCK_SKEW_MS`).
   * @defaultValue every worker on the system clock
   */
  readonly clockSkewMsByLane?: Readonly<Record<string, number>>;
  /**
   * `BOT_REPLY_DEADLINE_MS` of every worker.
   * @defaultValue 10_000 (the bot's default)
   */
  readonly replyDeadlineMs?: number;
}

/** A protocol event as the fleet received it. */
export interface FleetEvent {
  readonly lane: string;
  /** When the test process received it (the event's own `atMs` is on the worker's clock, maybe skewed). */
  readonly receivedAtMs: number;
  readonly event: BatonEvent;
}

/** One delivery attempt of one webhook to one worker. */
export interface DeliveryAttempt {
  readonly lane: string;
  readonly startedAtMs: number;
  readonly durationMs: number;
  /** How the invocation ended (`ok` = the handler answered, whatever its status). */
  readonly kind: InvokeOutcome['kind'];
  /** What the Function URL answered (502 for a crashed worker, 504 for a timeout). */
  readonly statusCode: number;
  /** The handler's body `code` for a not-sent answer. */
  readonly code?: string;
  /** `Retry-After`, seconds. */
  readonly retryAfterS?: number;
}

/** Everything about one webhook. */
export interface MessageRecord {
  readonly messageId: string;
  readonly replyId: string;
  readonly attempts: DeliveryAttempt[];
  /** Whether the last attempt was answered 200. */
  delivered: boolean;
}

/** Per-worker state as the fleet knows it. */
export interface WorkerView {
  readonly lane: string;
  readonly pid: number;
  readonly clockSkewMs: number;
  /** The coordinator's state, from its last `state` event. */
  readonly machineState: string;
  readonly alive: boolean;
  readonly frozen: boolean;
}

/** Everything `writeReport` saves. */
export interface FleetHistory {
  readonly label: string;
  readonly options: FleetOptions;
  readonly itemKey: string;
  readonly workers: readonly WorkerView[];
  readonly faults: readonly { readonly atMs: number; readonly kind: string; readonly lane?: string }[];
  readonly events: readonly FleetEvent[];
  readonly messages: readonly MessageRecord[];
  readonly chatLog: readonly ChatLogEntry[];
  readonly dynamodb: readonly RecordedCall[];
  readonly workerOutput: Readonly<Record<string, readonly string[]>>;
}

/** Holds one `POST /auth` answer; see {@link Fleet.holdNextAuthUntil}. */
interface AuthGate {
  readonly open: (arrivedAtMs: number, signal: AbortSignal) => Promise<void>;
}

interface PendingInvocation {
  readonly resolve: (outcome: InvokeOutcome, durationMs: number) => void;
  readonly startedAtMs: number;
  readonly timer: NodeJS.Timeout;
}

class WorkerProcess {
  readonly lane: string;
  readonly child: ChildProcess;
  readonly clockSkewMs: number;
  machineState = 'idle';
  frozen = false;
  exited = false;
  readonly exit: Promise<void>;
  readonly pending = new Map<number, PendingInvocation>();
  readonly output: string[] = [];
  watchdog: ChildProcess | undefined;

  constructor(lane: string, child: ChildProcess, clockSkewMs: number) {
    this.lane = lane;
    this.child = child;
    this.clockSkewMs = clockSkewMs;
    this.exit = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        this.remember(`[exit code ${code ?? 'none'} signal ${signal ?? 'none'}]`);
        this.stopWatchdog();
        for (const [id, pending] of this.pending) {
          clearTimeout(pending.timer);
          this.pending.delete(id);
          pending.resolve({ kind: 'crashed', lane, message: `worker exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})` }, Date.now() - pending.startedAtMs);
        }
        resolve();
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line.trim().length > 0) this.remember(line);
      });
    }
  }

  get alive(): boolean {
    return !this.exited;
  }

  remember(line: string): void {
    this.output.push(line.slice(0, 2_000));
    if (this.output.length > OUTPUT_LINES_MAX) this.output.shift();
  }

  /** SIGCONT then SIGKILL, synchronously (also from the exit hook). */
  killNow(): void {
    if (this.exited) return;
    try {
      if (this.frozen) this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    this.stopWatchdog();
  }

  stopWatchdog(): void {
    if (this.watchdog !== undefined && this.watchdog.exitCode === null && this.watchdog.signalCode === null) this.watchdog.kill('SIGKILL');
    this.watchdog = undefined;
  }
}

/** Fleets not yet closed, killed by the exit hook. */
const openFleets = new Set<Fleet>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const fleet of openFleets) fleet.killAllNow();
  });
}

/**
 * A shell that waits for end of file on its stdin (a pipe from the test process), then continues
 * and kills `pid`: a stopped worker cannot notice its parent's death by itself.
 */
function startFreezeWatchdog(pid: number): ChildProcess | undefined {
  if (process.platform === 'win32') return undefined;
  const watchdog = spawn('sh', ['-c', 'while read -r line; do :; done; kill -CONT "$1" 2>/dev/null; kill -KILL "$1" 2>/dev/null', 'baton-fleet-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => undefined);
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return watchdog;
}

/** Lane name of worker `index` (1-based). */
export function laneName(index: number): string {
  return `p${String(index).padStart(2, '0')}`;
}

/**
 * The fleet. Start with {@link Fleet.start}, always {@link Fleet.close}.
 *
 * @example
 * ```ts
 * const fleet = await Fleet.start({ label: 'demo', workers: 8, leaseMs: 2_000, authLatencyMs: 800 }, infra);
 * try { await fleet.deliver('p01', 'hello'); } finally { await fleet.close(); }
 * ```
 */
export class Fleet {
  readonly options: FleetOptions;
  readonly itemKey: string;
  readonly chat: FakeChatServer;
  readonly events: FleetEvent[] = [];
  readonly messages: MessageRecord[] = [];
  readonly faults: { atMs: number; kind: string; lane?: string }[] = [];
  /** When each `POST /auth` request reached the chat server (before its latency), epoch ms. */
  readonly authArrivals: number[];
  readonly #workers = new Map<string, WorkerProcess>();
  readonly #authGates: AuthGate[];
  readonly #recorder: DynamoDBRecorder;
  readonly #infra: FleetInfrastructure;
  readonly #reader: DynamoDBClient;
  #nextInvocation = 1;
  #nextMessage = 1;
  #closed: Promise<void> | undefined;

  private constructor(options: FleetOptions, infra: FleetInfrastructure, chat: FakeChatServer, recorder: DynamoDBRecorder, authArrivals: number[], gates: AuthGate[]) {
    this.options = options;
    this.authArrivals = authArrivals;
    this.#authGates = gates;
    this.#infra = infra;
    this.chat = chat;
    this.#recorder = recorder;
    this.itemKey = `fleet-${options.label}-${randomBytes(4).toString('hex')}`;
    this.#reader = new DynamoDBClient({ endpoint: infra.dynamodbEndpoint, region: DYNAMODB_LOCAL_REGION, credentials: DYNAMODB_LOCAL_CREDENTIALS });
  }

  /** Starts the chat server, the recorder and every worker, and waits until all are ready. */
  static async start(options: FleetOptions, infra: FleetInfrastructure): Promise<Fleet> {
    if (!existsSync(WORKER_JS)) throw new Error(`${WORKER_JS} is missing: run \`npm run build\` first (npm test does)`);
    const secret = `fleet-secret-${randomBytes(8).toString('hex')}`;
    const api = new FakeChatApi({ secret, clock: { now: () => Date.now() } });
    // Only `POST /auth` has latency here, so each latency wait marks one arrival of `POST /auth`.
    const authArrivals: number[] = [];
    const gates: AuthGate[] = [];
    const sleep = async (ms: number, signal: AbortSignal): Promise<void> => {
      const arrivedAtMs = Date.now();
      authArrivals.push(arrivedAtMs);
      await delay(ms, undefined, { signal });
      const gate = gates.shift();
      if (gate !== undefined) await gate.open(arrivedAtMs, signal);
    };
    const chat = await startFakeChatServer({ api, authLatencyMs: options.authLatencyMs, messageLatencyMs: 0, sleep });
    const recorder = await startDynamoDBRecorder(infra.dynamodbEndpoint);
    const fleet = new Fleet(options, infra, chat, recorder, authArrivals, gates);
    openFleets.add(fleet);
    installExitHook();
    try {
      await Promise.all(Array.from({ length: options.workers }, (_, index) => fleet.#spawn(laneName(index + 1), secret)));
    } catch (error) {
      await fleet.close();
      throw error;
    }
    return fleet;
  }

  /** Every lane, in start order. */
  get lanes(): string[] {
    return [...this.#workers.keys()];
  }

  /** Lanes whose process is alive and not frozen. */
  get liveLanes(): string[] {
    return [...this.#workers.values()].filter((worker) => worker.alive && !worker.frozen).map((worker) => worker.lane);
  }

  /** What the fleet knows about `lane`. */
  worker(lane: string): WorkerView {
    const worker = this.#worker(lane);
    return { lane, pid: worker.child.pid ?? -1, clockSkewMs: worker.clockSkewMs, machineState: worker.machineState, alive: worker.alive, frozen: worker.frozen };
  }

  /** Protocol events of one type (optionally of one lane), in arrival order. */
  eventsOf<T extends BatonEvent['type']>(type: T, lane?: string): (FleetEvent & { event: Extract<BatonEvent, { type: T }> })[] {
    return this.events.filter((entry): entry is FleetEvent & { event: Extract<BatonEvent, { type: T }> } => entry.event.type === type && (lane === undefined || entry.lane === lane));
  }

  /** Index into {@link events} to count "since now" later. */
  mark(): number {
    return this.events.length;
  }

  /** Events since `mark`. */
  eventsSince(mark: number): FleetEvent[] {
    return this.events.slice(mark);
  }

  /**
   * Resolves with `find()`'s first defined result, checked every few milliseconds; rejects after
   * `timeoutMs` naming `what` and every worker's state.
   */
  async waitFor<T>(what: string, find: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadlineMs = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() >= deadlineMs) {
        const states = [...this.#workers.values()].map((worker) => `${worker.lane}=${worker.machineState}${worker.alive ? '' : '(dead)'}${worker.frozen ? '(frozen)' : ''}`);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; workers: ${states.join(' ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    }
  }

  /** Waits until `lane`'s coordinator reports `state` (from events at or after `since`). */
  waitForState(lane: string, state: string, since: number, timeoutMs: number): Promise<FleetEvent> {
    return this.waitFor(
      `${lane} to enter "${state}"`,
      () => this.events.slice(since).find((entry) => entry.lane === lane && entry.event.type === 'state' && entry.event.to === state),
      timeoutMs,
    );
  }

  /** Waits until every live worker's coordinator is at rest (`idle` or `using`) with no invocation pending. */
  waitUntilQuiet(timeoutMs: number): Promise<true> {
    return this.waitFor(
      'every live worker to be at rest (idle/using, nothing pending)',
      () => ([...this.#workers.values()].every((worker) => !worker.alive || (QUIESCENT_STATES.has(worker.machineState) && worker.pending.size === 0)) ? true : undefined),
      timeoutMs,
    );
  }

  /** A new webhook body for this fleet (unique id). */
  newWebhook(text: string): { messageId: string; body: string } {
    const messageId = `${this.options.label}-m${String(this.#nextMessage++).padStart(4, '0')}`;
    const body = JSON.stringify({ messageId, room: 'general', user: 'ada', text, sentAtMs: Date.now() });
    return { messageId, body };
  }

  /**
   * Delivers one new webhook first to `lane`, then like the chat service: a 5xx or a missing
   * answer is redelivered after `Retry-After` (capped), to the same worker if it still runs, else
   * to the next live one, at most `policy.deliveriesMax` deliveries in all.
   */
  async deliver(lane: string, text: string, policy: RedeliveryPolicy = CHAT_SERVICE_REDELIVERY): Promise<MessageRecord> {
    const { messageId, body } = this.newWebhook(text);
    const record: MessageRecord = { messageId, replyId: replyIdFor(messageId), attempts: [], delivered: false };
    this.messages.push(record);
    let target = lane;
    for (let delivery = 1; delivery <= policy.deliveriesMax; delivery += 1) {
      const attempt = await this.invoke(target, body);
      record.attempts.push(attempt);
      if (attempt.statusCode === 200) {
        record.delivered = true;
        return record;
      }
      if (attempt.statusCode < 500) return record; // the chat service does not redeliver a 4xx
      const waitMs = Math.min(policy.waitMsMax, attempt.retryAfterS === undefined ? REDELIVERY_WAIT_MS_DEFAULT : attempt.retryAfterS * 1_000);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      target = this.#redeliveryTarget(target);
    }
    return record;
  }

  /** One invocation of `lane`'s handler with `body`; never rejects. */
  invoke(lane: string, body: string): Promise<DeliveryAttempt> {
    const worker = this.#worker(lane);
    const startedAtMs = Date.now();
    const id = this.#nextInvocation++;
    const event: FunctionUrlEvent = toFunctionUrlEvent({
      method: 'POST',
      url: '/webhook',
      headers: { 'content-type': 'application/json', 'user-agent': 'fake-chat-service' },
      body,
      sourceIp: '127.0.0.1',
      host: 'fleet.lambda-url.local',
      requestId: `fleet-${id}`,
      atMs: startedAtMs,
    });
    return new Promise<DeliveryAttempt>((resolve) => {
      const finish = (outcome: InvokeOutcome, durationMs: number): void => resolve(attemptOf(lane, startedAtMs, durationMs, outcome));
      if (!worker.alive) {
        finish({ kind: 'crashed', lane, message: 'worker is not running' }, 0);
        return;
      }
      const timer = setTimeout(() => {
        // Like Lambda: an invocation past its timeout is ended by ending the instance.
        const pending = worker.pending.get(id);
        if (pending === undefined) return;
        worker.pending.delete(id);
        worker.killNow();
        pending.resolve({ kind: 'timeout', lane }, Date.now() - startedAtMs);
      }, INVOCATION_TIMEOUT_MS);
      worker.pending.set(id, { resolve: finish, startedAtMs, timer });
      const message: ParentMessage = { type: 'invoke', id, event, deadlineAtMs: startedAtMs + INVOCATION_TIMEOUT_MS, requestId: `fleet-${id}` };
      worker.child.send(message, (error) => {
        if (error === null) return;
        const pending = worker.pending.get(id);
        if (pending === undefined) return;
        clearTimeout(pending.timer);
        worker.pending.delete(id);
        pending.resolve({ kind: 'crashed', lane, message: `could not send the invocation: ${error.message}` }, Date.now() - startedAtMs);
      });
    });
  }

  /** `kill -9` of `lane`'s process; resolves once it is reaped. */
  async kill(lane: string): Promise<void> {
    const worker = this.#worker(lane);
    this.faults.push({ atMs: Date.now(), kind: 'SIGKILL', lane });
    process.kill(worker.child.pid ?? -1, 'SIGKILL');
    await worker.exit;
  }

  /** `SIGSTOP` of `lane`'s process (Lambda freezing an instance). */
  freeze(lane: string): void {
    const worker = this.#worker(lane);
    worker.watchdog = startFreezeWatchdog(worker.child.pid ?? -1);
    this.faults.push({ atMs: Date.now(), kind: 'SIGSTOP', lane });
    process.kill(worker.child.pid ?? -1, 'SIGSTOP');
    worker.frozen = true;
  }

  /** `SIGCONT` of a frozen `lane` (Lambda thawing it). */
  thaw(lane: string): void {
    const worker = this.#worker(lane);
    this.faults.push({ atMs: Date.now(), kind: 'SIGCONT', lane });
    process.kill(worker.child.pid ?? -1, 'SIGCONT');
    worker.frozen = false;
    worker.stopWatchdog();
  }

  /**
   * Holds the answer to the next `POST /auth` (after its usual latency) until `condition()` holds,
   * but never longer than `capMs` after the request arrived: a slow issuer whose slowness the test
   * controls, so that something can happen while a holder is surely still refreshing. Keep
   * `capMs` well inside the holder's abort (80 % of the lease, counted from before its claim).
   */
  holdNextAuthUntil(condition: () => boolean, capMs: number): void {
    this.#authGates.push({
      open: async (arrivedAtMs, signal) => {
        while (!condition() && Date.now() < arrivedAtMs + capMs && !signal.aborted) await delay(WAIT_POLL_MS);
      },
    });
  }

  /**
   * Holds `lane`'s next publish (the UpdateItem that sets the token) in the recording proxy until
   * released: it has left the worker but not reached DynamoDB.
   */
  holdNextPublish(lane: string): HeldRequest & { readonly hasArrived: () => boolean } {
    let arrived = false;
    const held = this.#recorder.holdNext(
      (request) => request.lane === lane && request.operation === 'UpdateItem' && request.key === this.itemKey && /#token = /.test(request.updateExpression ?? ''),
    );
    void held.arrived.then(() => (arrived = true));
    return { arrived: held.arrived, release: () => held.release(), hasArrived: () => arrived };
  }

  /** An outside party calls `POST /auth` (admin route of the fake chat API). */
  async invalidate(): Promise<void> {
    this.faults.push({ atMs: Date.now(), kind: 'invalidate' });
    await this.#admin('/admin/invalidate');
  }

  /** The current token expires now (admin route of the fake chat API). */
  async expire(): Promise<void> {
    this.faults.push({ atMs: Date.now(), kind: 'expire' });
    await this.#admin('/admin/expire');
  }

  /** `POST /auth` calls the chat API has seen so far (every outcome). */
  authCalls(): number {
    return this.chat.api.stats().authCalls;
  }

  /** The shared item, read directly from DynamoDB Local (consistent), token as fingerprint. */
  async readItem(): Promise<RecordedItem | undefined> {
    const output = await this.#reader.send(new GetItemCommand({ TableName: this.#infra.tableName, Key: { pk: { S: this.itemKey } }, ConsistentRead: true }));
    return output.Item === undefined ? undefined : recordedItem(output.Item);
  }

  /** DynamoDB calls on this fleet's item, in arrival order. */
  dynamodbCalls(): RecordedCall[] {
    return this.#recorder.calls().filter((call) => call.key === this.itemKey);
  }

  /** All DynamoDB calls through this fleet's recorder (any item, any operation). */
  allDynamodbCalls(): readonly RecordedCall[] {
    return this.#recorder.calls();
  }

  /** The whole history. */
  history(): FleetHistory {
    const workerOutput: Record<string, readonly string[]> = {};
    for (const worker of this.#workers.values()) workerOutput[worker.lane] = [...worker.output];
    return {
      label: this.options.label,
      options: this.options,
      itemKey: this.itemKey,
      workers: this.lanes.map((lane) => this.worker(lane)),
      faults: [...this.faults],
      events: [...this.events],
      messages: this.messages.map((message) => ({ ...message, attempts: [...message.attempts] })),
      chatLog: this.chat.api.authLog.entries,
      dynamodb: this.dynamodbCalls(),
      workerOutput,
    };
  }

  /** Saves {@link history} as `reports/e2e-processes/<label>.json`; returns the path. */
  writeReport(): string {
    mkdirSync(REPORT_DIRECTORY, { recursive: true });
    const path = join(REPORT_DIRECTORY, `${this.options.label}.json`);
    writeFileSync(path, `${JSON.stringify(this.history(), null, 1)}\n`);
    return path;
  }

  /** Kills every worker (continuing frozen ones first) and stops the servers. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.killAllNow();
      const exits = [...this.#workers.values()].map((worker) => worker.exit);
      await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
      for (const worker of this.#workers.values()) {
        for (const pending of worker.pending.values()) clearTimeout(pending.timer);
      }
      await Promise.all([this.chat.close(), this.#recorder.close()]);
      this.#reader.destroy();
      openFleets.delete(this);
    })();
    return this.#closed;
  }

  /** Synchronous kill of every worker (for the exit hook). */
  killAllNow(): void {
    for (const worker of this.#workers.values()) worker.killNow();
  }

  async #spawn(lane: string, secret: string): Promise<void> {
    const clockSkewMs = this.options.clockSkewMsByLane?.[lane] ?? 0;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      NODE_OPTIONS: '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: DYNAMODB_LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DYNAMODB_LOCAL_CREDENTIALS.secretAccessKey,
      AWS_REGION: DYNAMODB_LOCAL_REGION,
      CHAT_API_URL: this.chat.url,
      CHAT_AUTH_SECRET: secret,
      BATON_TABLE: this.#infra.tableName,
      BATON_KEY: this.itemKey,
      DYNAMODB_ENDPOINT: this.#recorder.endpointFor(lane),
      BATON_LEASE_MS: String(this.options.leaseMs),
      BOT_REPLY_DEADLINE_MS: String(this.options.replyDeadlineMs ?? 10_000),
      [WORKER_ENV.lane]: lane,
      [WORKER_ENV.seed]: String(this.#workers.size + 1),
      ...(clockSkewMs === 0 ? {} : { [WORKER_ENV.clockSkewMs]: String(clockSkewMs) }),
    };
    const child = fork(WORKER_JS, [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' });
    const worker = new WorkerProcess(lane, child, clockSkewMs);
    this.#workers.set(lane, worker);
    let markReady: (() => void) | undefined;
    let markFailed: ((error: Error) => void) | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    child.on('message', (raw: unknown) => {
      if (isWorkerMessage(raw)) this.#onMessage(worker, raw, markReady, markFailed);
    });
    child.on('error', (error) => worker.remember(`[process error: ${error.message}]`));
    void worker.exit.then(() => markFailed?.(new Error(`worker ${lane} exited before it was ready: ${worker.output.slice(-5).join(' | ')}`)));
    const timer = setTimeout(() => markFailed?.(new Error(`worker ${lane} not ready within ${WORKER_START_TIMEOUT_MS} ms`)), WORKER_START_TIMEOUT_MS);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
      markFailed = undefined;
    }
  }

  #onMessage(worker: WorkerProcess, message: WorkerMessage, markReady: (() => void) | undefined, markFailed: ((error: Error) => void) | undefined): void {
    switch (message.type) {
      case 'ready':
        markReady?.();
        return;
      case 'init-failed':
        markFailed?.(new Error(`worker ${worker.lane} init failed: ${message.message}`));
        return;
      case 'event': {
        const event = message.event as BatonEvent;
        if (event.type === 'state') worker.machineState = event.to;
        this.events.push({ lane: worker.lane, receivedAtMs: Date.now(), event });
        return;
      }
      case 'result':
      case 'invoke-failed': {
        const pending = worker.pending.get(message.id);
        if (pending === undefined) return;
        clearTimeout(pending.timer);
        worker.pending.delete(message.id);
        const outcome: InvokeOutcome =
          message.type === 'result'
            ? { kind: 'ok', lane: worker.lane, result: message.result, coldStart: false, durationMs: Date.now() - pending.startedAtMs }
            : { kind: 'handler-error', lane: worker.lane, message: message.message };
        pending.resolve(outcome, Date.now() - pending.startedAtMs);
        return;
      }
    }
  }

  #worker(lane: string): WorkerProcess {
    const worker = this.#workers.get(lane);
    if (worker === undefined) throw new Error(`no worker ${lane}; lanes: ${this.lanes.join(', ')}`);
    return worker;
  }

  /** The same worker if it still runs unfrozen, else the next live one in lane order. */
  #redeliveryTarget(previous: string): string {
    const live = this.liveLanes;
    if (live.includes(previous)) return previous;
    const lanes = this.lanes;
    const start = lanes.indexOf(previous);
    for (let step = 1; step <= lanes.length; step += 1) {
      const candidate = lanes[(start + step) % lanes.length];
      if (candidate !== undefined && live.includes(candidate)) return candidate;
    }
    return previous;
  }

  async #admin(path: string): Promise<void> {
    const response = await fetch(`${this.chat.url}${path}`, { method: 'POST' });
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  }
}

/** A delivery attempt from an invocation outcome, mapped to HTTP like a Function URL does. */
function attemptOf(lane: string, startedAtMs: number, durationMs: number, outcome: InvokeOutcome): DeliveryAttempt {
  const http: HandlerResult = toHttp(outcome);
  const retryAfter = http.headers?.['retry-after'];
  let code: string | undefined;
  if (outcome.kind === 'ok' && http.statusCode !== 200 && http.body !== undefined) {
    try {
      const parsed = JSON.parse(http.body) as { code?: unknown };
      if (typeof parsed.code === 'string') code = parsed.code;
    } catch {
      code = undefined;
    }
  }
  return {
    lane,
    startedAtMs,
    durationMs,
    kind: outcome.kind,
    statusCode: http.statusCode,
    ...(code === undefined ? {} : { code }),
    ...(retryAfter === undefined || !/^\d+$/.test(retryAfter) ? {} : { retryAfterS: Number(retryAfter) }),
  };
}
