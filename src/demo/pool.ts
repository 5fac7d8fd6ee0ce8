import { fork, type ChildProcess } from 'node:child_process';
import { isWorkerMessage, type FunctionUrlEvent, type HandlerResult, type ParentMessage, type WorkerMessage } from './ipc.js';

/** Options of {@link LambdaPool}. */
export interface LambdaPoolOptions {
  /** Absolute path of the worker script (`dist/demo/worker.js`). */
  readonly workerPath: string;
  /** Most worker processes alive at once (like Lambda's reserved concurrency). */
  readonly maxInstances: number;
  /** Most invocations waiting for a free instance; beyond that requests are throttled. */
  readonly queueLimit: number;
  /** Longest a queued invocation waits before it is throttled. */
  readonly queueWaitMsMax: number;
  /** Longest a worker may take from `fork` to `ready` (init phase). */
  readonly startTimeoutMs: number;
  /** Lambda-like timeout: a worker still busy after this is killed. */
  readonly invocationTimeoutMs: number;
  /** Longest `close()` waits for workers to exit before killing them. */
  readonly closeTimeoutMs: number;
  /** Environment of the worker processes. */
  readonly env: NodeJS.ProcessEnv;
  /** Name of the variable that tells each worker its lane (e.g. `i03`). */
  readonly laneEnvName: string;
  /** Seeded random in [0, 1): which warm idle instance serves the next request. */
  readonly random: () => number;
  /** Receives every `event` message a worker forwards, tagged with its lane. */
  readonly onWorkerEvent?: (lane: string, event: unknown) => void;
  /** Receives the pool's own lifecycle events (starts, exits, timeouts, invocations). */
  readonly onLifecycle?: (event: PoolLifecycleEvent) => void;
  /** Clock, epoch ms. */
  readonly now?: () => number;
}

/** What happened to one invocation. */
export type InvokeOutcome =
  | { readonly kind: 'ok'; readonly lane: string; readonly result: HandlerResult; readonly coldStart: boolean; readonly durationMs: number }
  | { readonly kind: 'throttled'; readonly reason: 'queue-full' | 'queue-timeout' }
  | { readonly kind: 'timeout'; readonly lane: string }
  | { readonly kind: 'crashed'; readonly lane: string; readonly message: string }
  | { readonly kind: 'start-failed'; readonly lane: string; readonly message: string }
  | { readonly kind: 'handler-error'; readonly lane: string; readonly message: string }
  | { readonly kind: 'closed' };

/** The pool's own lifecycle events, for the timeline and the report. */
export type PoolLifecycleEvent =
  | { readonly type: 'spawn'; readonly lane: string; readonly atMs: number; readonly pid: number | undefined }
  | { readonly type: 'ready'; readonly lane: string; readonly atMs: number; readonly initMs: number }
  | { readonly type: 'invoke-start'; readonly lane: string; readonly atMs: number; readonly id: number; readonly coldStart: boolean }
  | { readonly type: 'invoke-end'; readonly lane: string; readonly atMs: number; readonly id: number; readonly outcome: InvokeOutcome['kind'] }
  | { readonly type: 'timeout'; readonly lane: string; readonly atMs: number; readonly id: number }
  | { readonly type: 'exit'; readonly lane: string; readonly atMs: number; readonly code: number | null; readonly signal: string | null; readonly expected: boolean }
  | { readonly type: 'throttle'; readonly atMs: number; readonly reason: 'queue-full' | 'queue-timeout' };

/** Counters of the pool. */
export interface PoolStats {
  readonly started: number;
  readonly coldStarts: number;
  readonly warmStarts: number;
  readonly invocations: number;
  readonly timeouts: number;
  readonly crashes: number;
  readonly startFailures: number;
  readonly throttles: number;
  readonly queuedMax: number;
  readonly alive: number;
  readonly busy: number;
}

/** Most lines of worker output kept per lane for diagnostics. */
export const WORKER_OUTPUT_LINES_MAX = 50;

type InstanceState = 'starting' | 'idle' | 'busy' | 'dead';

interface Pending {
  readonly id: number;
  readonly event: FunctionUrlEvent;
  readonly enqueuedAtMs: number;
  readonly resolve: (outcome: InvokeOutcome) => void;
  queueTimer?: NodeJS.Timeout;
}

interface Instance {
  readonly lane: string;
  readonly child: ChildProcess;
  state: InstanceState;
  /** Invocation bound to this instance (the cold-start one while starting). */
  current: Pending | undefined;
  currentStartedAtMs: number;
  coldStart: boolean;
  startTimer: NodeJS.Timeout | undefined;
  invokeTimer: NodeJS.Timeout | undefined;
  expectedExit: boolean;
  readonly output: string[];
}

/**
 * A local stand-in for AWS Lambda: up to `maxInstances` worker processes, each serving one
 * invocation at a time. A new instance starts only when every live one is busy; warm idle ones
 * are reused; requests queue (bounded in size and wait) when all are busy; a stuck invocation is
 * killed after `invocationTimeoutMs`.
 *
 * @example
 * ```ts
 * const pool = new LambdaPool({ workerPath, maxInstances: 4, ... });
 * const outcome = await pool.invoke(event);
 * await pool.close();
 * ```
 */
export class LambdaPool {
  readonly #options: LambdaPoolOptions;
  readonly #now: () => number;
  readonly #instances = new Map<string, Instance>();
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #nextLane = 1;
  #closed = false;
  #stats = { started: 0, coldStarts: 0, warmStarts: 0, invocations: 0, timeouts: 0, crashes: 0, startFailures: 0, throttles: 0, queuedMax: 0 };

  constructor(options: LambdaPoolOptions) {
    if (!(options.maxInstances >= 1)) throw new RangeError('maxInstances must be at least 1');
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Runs one invocation; never rejects. */
  invoke(event: FunctionUrlEvent): Promise<InvokeOutcome> {
    if (this.#closed) return Promise.resolve({ kind: 'closed' });
    return new Promise<InvokeOutcome>((resolve) => {
      const pending: Pending = { id: this.#nextId++, event, enqueuedAtMs: this.#now(), resolve };
      this.#stats.invocations += 1;
      const idle = [...this.#instances.values()].filter((instance) => instance.state === 'idle');
      if (idle.length > 0) {
        const chosen = idle[Math.floor(this.#options.random() * idle.length)] ?? idle[0];
        if (chosen !== undefined) {
          this.#dispatch(chosen, pending, false);
          return;
        }
      }
      if (this.#liveCount() < this.#options.maxInstances) {
        this.#spawn(pending);
        return;
      }
      if (this.#queue.length >= this.#options.queueLimit) {
        this.#throttle(pending, 'queue-full');
        return;
      }
      pending.queueTimer = setTimeout(() => {
        const index = this.#queue.indexOf(pending);
        if (index >= 0) {
          this.#queue.splice(index, 1);
          this.#throttle(pending, 'queue-timeout');
        }
      }, this.#options.queueWaitMsMax);
      this.#queue.push(pending);
      this.#stats.queuedMax = Math.max(this.#stats.queuedMax, this.#queue.length);
    });
  }

  /** Counters so far. */
  stats(): PoolStats {
    const live = [...this.#instances.values()];
    return { ...this.#stats, alive: live.length, busy: live.filter((instance) => instance.state === 'busy' || instance.state === 'starting').length };
  }

  /** Lanes ever started, in start order. */
  lanes(): string[] {
    return Array.from({ length: this.#nextLane - 1 }, (_, index) => laneName(index + 1));
  }

  /** Recent output lines of a lane's worker (for diagnostics). */
  output(lane: string): readonly string[] {
    return this.#instances.get(lane)?.output ?? [];
  }

  /**
   * Stops accepting work, throttles queued requests, asks every worker to exit and kills those
   * that do not within `closeTimeoutMs`.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) {
      if (pending.queueTimer !== undefined) clearTimeout(pending.queueTimer);
      pending.resolve({ kind: 'closed' });
    }
    const exits = [...this.#instances.values()].map((instance) => this.#stop(instance));
    await Promise.all(exits);
  }

  /** Kills every worker at once, synchronously (for `process.on('exit')`). */
  killAllNow(): void {
    for (const instance of this.#instances.values()) {
      instance.expectedExit = true;
      if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGKILL');
    }
  }

  /** Instances not retired (a retired one is being killed and exits within milliseconds). */
  #liveCount(): number {
    let live = 0;
    for (const instance of this.#instances.values()) if (instance.state !== 'dead') live += 1;
    return live;
  }

  #spawn(pending: Pending): void {
    const lane = laneName(this.#nextLane++);
    const child = fork(this.#options.workerPath, [], {
      env: { ...this.#options.env, [this.#options.laneEnvName]: lane },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const instance: Instance = {
      lane,
      child,
      state: 'starting',
      current: pending,
      currentStartedAtMs: this.#now(),
      coldStart: true,
      startTimer: undefined,
      invokeTimer: undefined,
      expectedExit: false,
      output: [],
    };
    this.#instances.set(lane, instance);
    this.#stats.started += 1;
    this.#options.onLifecycle?.({ type: 'spawn', lane, atMs: this.#now(), pid: child.pid });
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim().length === 0) continue;
        instance.output.push(line);
        if (instance.output.length > WORKER_OUTPUT_LINES_MAX) instance.output.shift();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (raw: unknown) => {
      if (isWorkerMessage(raw)) this.#onMessage(instance, raw);
    });
    child.on('error', (error) => keep(Buffer.from(`process error: ${error.message}`)));
    child.on('exit', (code, signal) => this.#onExit(instance, code, signal));
    instance.startTimer = setTimeout(() => {
      if (instance.state !== 'starting') return;
      this.#failStart(instance, `worker did not become ready within ${this.#options.startTimeoutMs} ms`);
    }, this.#options.startTimeoutMs);
  }

  #onMessage(instance: Instance, message: WorkerMessage): void {
    switch (message.type) {
      case 'event':
        this.#options.onWorkerEvent?.(instance.lane, message.event);
        return;
      case 'ready': {
        if (instance.state !== 'starting') return;
        clearTimeout(instance.startTimer);
        instance.startTimer = undefined;
        this.#options.onLifecycle?.({ type: 'ready', lane: instance.lane, atMs: this.#now(), initMs: message.initMs });
        const pending = instance.current;
        instance.current = undefined;
        instance.state = 'idle';
        if (pending !== undefined) this.#dispatch(instance, pending, true);
        else this.#next(instance);
        return;
      }
      case 'init-failed':
        if (instance.state === 'starting') this.#failStart(instance, `worker init failed: ${message.message}`);
        return;
      case 'result':
        this.#finish(instance, message.id, (durationMs) => ({
          kind: 'ok',
          lane: instance.lane,
          result: message.result,
          coldStart: instance.coldStart,
          durationMs,
        }));
        return;
      case 'invoke-failed':
        this.#finish(instance, message.id, () => ({ kind: 'handler-error', lane: instance.lane, message: message.message }));
        return;
    }
  }

  #dispatch(instance: Instance, pending: Pending, coldStart: boolean): void {
    if (pending.queueTimer !== undefined) clearTimeout(pending.queueTimer);
    instance.state = 'busy';
    instance.current = pending;
    instance.coldStart = coldStart;
    instance.currentStartedAtMs = this.#now();
    if (coldStart) this.#stats.coldStarts += 1;
    else this.#stats.warmStarts += 1;
    const deadlineAtMs = instance.currentStartedAtMs + this.#options.invocationTimeoutMs;
    this.#options.onLifecycle?.({ type: 'invoke-start', lane: instance.lane, atMs: instance.currentStartedAtMs, id: pending.id, coldStart });
    instance.invokeTimer = setTimeout(() => this.#timeout(instance), this.#options.invocationTimeoutMs);
    const message: ParentMessage = { type: 'invoke', id: pending.id, event: pending.event, deadlineAtMs, requestId: `req-${pending.id}` };
    instance.child.send(message, (error) => {
      if (error !== null && instance.current === pending) this.#crash(instance, `could not send the invocation: ${error.message}`);
    });
  }

  #finish(instance: Instance, id: number, outcome: (durationMs: number) => InvokeOutcome): void {
    const pending = instance.current;
    if (instance.state !== 'busy' || pending === undefined || pending.id !== id) return;
    clearTimeout(instance.invokeTimer);
    instance.invokeTimer = undefined;
    instance.current = undefined;
    instance.state = 'idle';
    const result = outcome(this.#now() - instance.currentStartedAtMs);
    this.#options.onLifecycle?.({ type: 'invoke-end', lane: instance.lane, atMs: this.#now(), id, outcome: result.kind });
    pending.resolve(result);
    this.#next(instance);
  }

  #next(instance: Instance): void {
    if (this.#closed || instance.state !== 'idle') return;
    const pending = this.#queue.shift();
    if (pending !== undefined) this.#dispatch(instance, pending, false);
  }

  #timeout(instance: Instance): void {
    const pending = instance.current;
    if (instance.state !== 'busy' || pending === undefined) return;
    this.#stats.timeouts += 1;
    this.#options.onLifecycle?.({ type: 'timeout', lane: instance.lane, atMs: this.#now(), id: pending.id });
    instance.current = undefined;
    this.#retire(instance);
    pending.resolve({ kind: 'timeout', lane: instance.lane });
    this.#options.onLifecycle?.({ type: 'invoke-end', lane: instance.lane, atMs: this.#now(), id: pending.id, outcome: 'timeout' });
    this.#refill();
  }

  #failStart(instance: Instance, message: string): void {
    this.#stats.startFailures += 1;
    const pending = instance.current;
    instance.current = undefined;
    this.#retire(instance);
    pending?.resolve({ kind: 'start-failed', lane: instance.lane, message });
    this.#refill();
  }

  #crash(instance: Instance, message: string): void {
    this.#stats.crashes += 1;
    const pending = instance.current;
    instance.current = undefined;
    this.#retire(instance);
    if (pending !== undefined) {
      pending.resolve({ kind: 'crashed', lane: instance.lane, message });
      this.#options.onLifecycle?.({ type: 'invoke-end', lane: instance.lane, atMs: this.#now(), id: pending.id, outcome: 'crashed' });
    }
    this.#refill();
  }

  #onExit(instance: Instance, code: number | null, signal: NodeJS.Signals | null): void {
    this.#options.onLifecycle?.({ type: 'exit', lane: instance.lane, atMs: this.#now(), code, signal, expected: instance.expectedExit });
    if (instance.state === 'dead') {
      this.#instances.delete(instance.lane);
      return;
    }
    const why = `worker exited unexpectedly (code ${code ?? 'none'}, signal ${signal ?? 'none'})`;
    if (instance.state === 'starting') this.#failStart(instance, why);
    else this.#crash(instance, why);
    this.#instances.delete(instance.lane);
  }

  /** Marks an instance dead and kills its process; it leaves the map when the process exits. */
  #retire(instance: Instance): void {
    clearTimeout(instance.startTimer);
    clearTimeout(instance.invokeTimer);
    instance.startTimer = undefined;
    instance.invokeTimer = undefined;
    instance.state = 'dead';
    instance.expectedExit = true;
    if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGKILL');
    else this.#instances.delete(instance.lane);
  }

  /** After an instance died, starts a replacement for the head of the queue if there is room. */
  #refill(): void {
    if (this.#closed) return;
    if (this.#queue.length > 0 && this.#liveCount() < this.#options.maxInstances) {
      const pending = this.#queue.shift();
      if (pending === undefined) return;
      if (pending.queueTimer !== undefined) clearTimeout(pending.queueTimer);
      this.#spawn(pending);
    }
  }

  #throttle(pending: Pending, reason: 'queue-full' | 'queue-timeout'): void {
    this.#stats.throttles += 1;
    this.#options.onLifecycle?.({ type: 'throttle', atMs: this.#now(), reason });
    pending.resolve({ kind: 'throttled', reason });
  }

  #stop(instance: Instance): Promise<void> {
    return new Promise<void>((resolve) => {
      if (instance.child.exitCode !== null || instance.child.signalCode !== null) {
        resolve();
        return;
      }
      const killTimer = setTimeout(() => {
        instance.child.kill('SIGKILL');
      }, this.#options.closeTimeoutMs);
      instance.child.once('exit', () => {
        clearTimeout(killTimer);
        resolve();
      });
      const wasBusy = instance.current;
      instance.expectedExit = true;
      clearTimeout(instance.startTimer);
      clearTimeout(instance.invokeTimer);
      instance.state = 'dead';
      instance.current = undefined;
      wasBusy?.resolve({ kind: 'closed' });
      if (instance.child.connected) {
        const shutdown: ParentMessage = { type: 'shutdown' };
        instance.child.send(shutdown, (error) => {
          if (error !== null) instance.child.kill('SIGKILL');
        });
      } else {
        instance.child.kill('SIGKILL');
      }
    });
  }
}

function laneName(index: number): string {
  return `i${String(index).padStart(2, '0')}`;
}
