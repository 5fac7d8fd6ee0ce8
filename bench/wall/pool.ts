/**
 * The wall-clock bench's worker processes: started with `node --import tsx` (no build step),
 * reused across runs, killed with SIGKILL on demand (the crash scenario) and all killed when the
 * bench ends or its process exits. Every wait is bounded.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isFromWorker } from './ipc.js';
import type { FromWorker, ToWorker, WorkerAssignment } from './ipc.js';

/** Longest a worker may take from `fork` to `ready`, ms (tsx compiles the worker's imports on a busy 2-core box). */
export const WORKER_START_MS_MAX = 60_000;
/** Longest a worker may take to answer `start` (loading a strategy, e.g. the v2 SDK), ms. */
export const WORKER_ASSIGN_MS_MAX = 20_000;
/** Longest a worker may take to answer `stop`, ms (its own bound is 3 s, plus slack for a busy box). */
export const WORKER_STOP_MS_MAX = 10_000;
/** Longest `close()` waits for killed workers to be reaped, ms. */
export const WORKER_REAP_MS_MAX = 5_000;
/**
 * Niceness of worker processes. The parent hosts dynalite and the chat API, which stand for cloud
 * services that do not share a CPU with the Lambdas; on a small machine 32 busy workers would
 * otherwise starve them and every DynamoDB call would queue for seconds.
 */
export const WORKER_NICENESS = 10;
/** Output lines kept per worker for error messages. */
const OUTPUT_LINES_MAX = 20;

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.ts', import.meta.url));
const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** One worker process. */
export interface PoolWorker {
  /** `w01`, `w02`, … in start order. */
  readonly name: string;
  readonly child: ChildProcess;
  /** Instance hosted now, if any. */
  instanceId: string | undefined;
  alive: boolean;
  readonly output: string[];
}

type Waiter = { readonly accept: (message: FromWorker) => boolean; readonly resolve: (message: FromWorker) => void };

/**
 * A pool of bench workers.
 *
 * @example
 * ```ts
 * const pool = new WallWorkerPool({ env, onEvent: (worker, message) => {} });
 * const [worker] = await pool.take(1);
 * await pool.assign(worker, assignment);
 * await pool.close();
 * ```
 */
export class WallWorkerPool {
  readonly #env: NodeJS.ProcessEnv;
  readonly #workers: PoolWorker[] = [];
  readonly #waiters = new Map<PoolWorker, Waiter[]>();
  readonly #ready = new Map<PoolWorker, Promise<void>>();
  readonly #killAllNow = (): void => this.killAll();
  #next = 1;
  #closed = false;
  /** Receives `ddb`, `auth` and `lost` reports of every worker. */
  onEvent: (worker: PoolWorker, message: FromWorker) => void = () => undefined;

  constructor(options: { readonly env: NodeJS.ProcessEnv }) {
    this.#env = options.env;
    // A bench that exits for any reason (error, process.exit) takes its workers with it.
    process.once('exit', this.#killAllNow);
  }

  /** `count` idle live workers, starting new processes as needed (all in parallel). */
  async take(count: number): Promise<PoolWorker[]> {
    if (this.#closed) throw new Error('worker pool is closed');
    const idle = this.#workers.filter((worker) => worker.alive && worker.instanceId === undefined);
    while (idle.length < count) idle.push(this.#spawn());
    const chosen = idle.slice(0, count);
    await Promise.all(chosen.map((worker) => this.#ready.get(worker)));
    return chosen;
  }

  /** Gives `worker` an instance to host; resolves once it runs. */
  async assign(worker: PoolWorker, assignment: WorkerAssignment): Promise<void> {
    worker.instanceId = assignment.instanceId;
    const answer = this.#expect(worker, (message) => message.type === 'started' || message.type === 'start-failed', WORKER_ASSIGN_MS_MAX, 'start');
    this.#send(worker, { type: 'start', assignment });
    const message = await answer;
    if (message.type === 'start-failed') throw new Error(`worker ${worker.name} could not start ${assignment.strategy}: ${message.message}`);
  }

  /** Stops the hosted instance; resolves with the worker's final counts (or `undefined` if it died meanwhile). */
  async release(worker: PoolWorker): Promise<Extract<FromWorker, { type: 'stopped' }> | undefined> {
    if (!worker.alive) return undefined;
    const answer = this.#expect(worker, (message) => message.type === 'stopped', WORKER_STOP_MS_MAX, 'stop').catch(() => undefined);
    this.#send(worker, { type: 'stop' });
    const message = await answer;
    if (message === undefined) this.kill(worker);
    else worker.instanceId = undefined;
    return message?.type === 'stopped' ? message : undefined;
  }

  /** SIGKILL, now (kill -9: no cleanup, no release of anything the process held). */
  kill(worker: PoolWorker): void {
    worker.alive = false;
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  }

  /** Kills every worker synchronously. */
  killAll(): void {
    for (const worker of this.#workers) this.kill(worker);
  }

  /** Kills every worker and waits (bounded) until they are reaped. */
  async close(): Promise<void> {
    this.#closed = true;
    process.off('exit', this.#killAllNow);
    const exits = this.#workers
      .filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null)
      .map((worker) => new Promise<void>((resolve) => worker.child.once('exit', () => resolve())));
    this.killAll();
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, WORKER_REAP_MS_MAX).unref())]);
  }

  #spawn(): PoolWorker {
    const name = `w${String(this.#next++).padStart(2, '0')}`;
    const child = fork(WORKER_SCRIPT, [], {
      cwd: REPOSITORY_ROOT,
      execArgv: ['--import', TSX_LOADER],
      env: this.#env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const worker: PoolWorker = { name, child, instanceId: undefined, alive: true, output: [] };
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, WORKER_NICENESS);
      } catch {
        // Not permitted on this system: the run goes on at equal priority (slower DynamoDB under load).
      }
    }
    this.#workers.push(worker);
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        worker.output.push(line.slice(0, 300));
        if (worker.output.length > OUTPUT_LINES_MAX) worker.output.shift();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (raw: unknown) => {
      if (isFromWorker(raw)) this.#onMessage(worker, raw);
    });
    child.on('exit', () => {
      worker.alive = false;
      for (const waiter of this.#waiters.get(worker) ?? []) waiter.resolve({ type: 'start-failed', message: `worker exited (${this.#describe(worker)})` });
      this.#waiters.delete(worker);
    });
    const ready = this.#expect(worker, (message) => message.type === 'ready', WORKER_START_MS_MAX, 'boot').then((message) => {
      if (message.type !== 'ready') throw new Error(`worker ${name} did not start: ${message.type === 'start-failed' ? message.message : message.type}`);
    });
    this.#ready.set(worker, ready);
    return worker;
  }

  #onMessage(worker: PoolWorker, message: FromWorker): void {
    const waiters = this.#waiters.get(worker) ?? [];
    const index = waiters.findIndex((waiter) => waiter.accept(message));
    const waiter = waiters[index];
    if (waiter !== undefined) {
      waiters.splice(index, 1);
      waiter.resolve(message);
      return;
    }
    this.onEvent(worker, message);
  }

  #expect(worker: PoolWorker, accept: (message: FromWorker) => boolean, waitMsMax: number, what: string): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.#waiters.get(worker) ?? [];
        const index = list.indexOf(waiter);
        if (index >= 0) list.splice(index, 1);
        reject(new Error(`worker ${worker.name} did not answer ${what} within ${waitMsMax} ms (${this.#describe(worker)})`));
      }, waitMsMax);
      const waiter: Waiter = {
        accept,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      };
      const list = this.#waiters.get(worker) ?? [];
      list.push(waiter);
      this.#waiters.set(worker, list);
    });
  }

  #send(worker: PoolWorker, message: ToWorker): void {
    if (!worker.child.connected) throw new Error(`worker ${worker.name} is gone (${this.#describe(worker)})`);
    worker.child.send(message);
  }

  #describe(worker: PoolWorker): string {
    const last = worker.output.slice(-5).join(' | ');
    return `pid ${worker.child.pid ?? '?'}, exit ${worker.child.exitCode ?? worker.child.signalCode ?? 'none'}${last === '' ? '' : `, output: ${last}`}`;
  }
}
