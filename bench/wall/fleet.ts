/**
 * What the parent knows about the instances of one wall-clock run: which are alive, which
 * generation each last delivered with, its first delivery with each generation since the current
 * incident, its `POST /auth` calls in flight, and the counters of the open measurement window.
 * Fed by the observed chat API (on the parent's clock) and by the workers' IPC reports.
 */
import type { IncidentCounts } from '../core/metrics.js';
import type { AuthResult } from '../../src/fake/chat-api.js';
import type { ChatObserver } from './chat.js';
import type { FromWorker } from './ipc.js';
import type { PoolWorker } from './pool.js';

/** One hosted strategy instance. */
export interface FleetInstance {
  readonly instanceId: string;
  readonly worker: PoolWorker;
  /** `false` once killed; a dead instance is no longer waited for. */
  alive: boolean;
  /** `true` once the worker confirmed `started`. */
  started: boolean;
  /** Generation of its latest accepted message (any time). */
  lastGeneration: number | undefined;
  /** First acceptance per generation since the current incident, parent clock, epoch ms. */
  readonly firstUseAtMs: Map<number, number>;
  /** `POST /auth` calls started and not yet ended (its own reports). */
  authInFlight: number;
}

/** Counters of the open window (auth calls, DynamoDB calls, losses); 401s come from the chat API. */
interface WindowCounters {
  authCalls: number;
  ddbReads: number;
  ddbWrites: number;
  lost: number;
}

/**
 * The fleet of one run.
 *
 * @example
 * ```ts
 * const fleet = new Fleet();
 * const chat = await startWallChat({ ..., observer: fleet.observer });
 * pool.onEvent = (_worker, message) => fleet.onWorkerMessage(message);
 * ```
 */
export class Fleet {
  readonly #instances = new Map<string, FleetInstance>();
  /** Generations minted by `POST /auth` since the current incident began. */
  readonly #issuedSinceIncident = new Set<number>();
  #window: WindowCounters | undefined;
  /** Losses go to the latest incident until the next one begins (or the run ends). */
  #lossesOpen = false;
  #lostSinceIncident = 0;
  #onAuthStart: ((instance: FleetInstance) => void) | undefined;
  /** Reasons of the first few losses, for the log. */
  readonly lossReasons: string[] = [];

  /** What the observed chat API tells the fleet. */
  readonly observer: ChatObserver = {
    auth: (result: AuthResult) => {
      if (this.#window !== undefined) this.#window.authCalls += 1;
      if (result.status === 200 || result.status === 'dropped') this.#issuedSinceIncident.add(result.generation);
    },
    accepted: (messageId, generation, atMs) => {
      const instance = this.#instances.get(instanceIdOf(messageId));
      if (instance === undefined) return;
      instance.lastGeneration = generation;
      if (!instance.firstUseAtMs.has(generation)) instance.firstUseAtMs.set(generation, atMs);
    },
  };

  /** Registers an instance about to be started on `worker`. */
  add(instanceId: string, worker: PoolWorker): FleetInstance {
    const instance: FleetInstance = { instanceId, worker, alive: true, started: false, lastGeneration: undefined, firstUseAtMs: new Map(), authInFlight: 0 };
    this.#instances.set(instanceId, instance);
    return instance;
  }

  /** Instances not killed. */
  live(): FleetInstance[] {
    return [...this.#instances.values()].filter((instance) => instance.alive);
  }

  /** Every instance ever hosted in this run. */
  all(): FleetInstance[] {
    return [...this.#instances.values()];
  }

  /** Handles a worker's report (reports of instances of other runs are ignored). */
  onWorkerMessage(message: FromWorker): void {
    if (!('instanceId' in message)) return;
    const instance = this.#instances.get(message.instanceId);
    if (instance === undefined) return;
    switch (message.type) {
      case 'ddb':
        if (this.#window !== undefined) this.#window[message.kind === 'read' ? 'ddbReads' : 'ddbWrites'] += 1;
        return;
      case 'auth':
        instance.authInFlight = Math.max(0, instance.authInFlight + (message.phase === 'start' ? 1 : -1));
        if (message.phase === 'start' && instance.alive) this.#onAuthStart?.(instance);
        return;
      case 'lost':
        if (this.#lossesOpen) this.#lostSinceIncident += 1;
        if (this.lossReasons.length < LOSS_REASONS_KEPT) this.lossReasons.push(message.reason);
        return;
      default:
        return;
    }
  }

  /** Called at the next `POST /auth` start of a live instance (the crash scenario's trigger). */
  onAuthStart(callback: ((instance: FleetInstance) => void) | undefined): void {
    this.#onAuthStart = callback;
  }

  /** Every live instance has started and last delivered with the current generation, and no refresh is running. */
  steady(currentGeneration: number | undefined): boolean {
    if (currentGeneration === undefined) return false;
    return this.live().every((instance) => instance.started && instance.lastGeneration === currentGeneration && instance.authInFlight === 0);
  }

  /**
   * Settled after an incident: the chat API's current token was minted by a `POST /auth` during
   * the incident (not the outside party's, not the expired one), every live instance has
   * delivered with it since, and no live instance is calling `POST /auth`.
   */
  settled(currentGeneration: number | undefined): boolean {
    if (currentGeneration === undefined || !this.#issuedSinceIncident.has(currentGeneration)) return false;
    return this.live().every((instance) => instance.started && instance.firstUseAtMs.has(currentGeneration) && instance.authInFlight === 0);
  }

  /** Opens a measurement window at an incident; losses from now on belong to it. */
  beginIncident(): void {
    this.#issuedSinceIncident.clear();
    for (const instance of this.#instances.values()) instance.firstUseAtMs.clear();
    this.#window = { authCalls: 0, ddbReads: 0, ddbWrites: 0, lost: 0 };
    this.#lossesOpen = true;
    this.#lostSinceIncident = 0;
  }

  /** Closes the counting window (losses keep counting until the next incident or the end). */
  endWindow(): Omit<IncidentCounts, 'rejections' | 'lostMessages'> {
    const window = this.#window ?? { authCalls: 0, ddbReads: 0, ddbWrites: 0, lost: 0 };
    this.#window = undefined;
    return { authCalls: window.authCalls, ddbReads: window.ddbReads, ddbWrites: window.ddbWrites };
  }

  /** Losses since the latest incident began; stops counting. */
  takeLosses(): number {
    const lost = this.#lostSinceIncident;
    this.#lossesOpen = false;
    this.#lostSinceIncident = 0;
    return lost;
  }

  /** Adds a loss to the latest incident (a message stuck in an instance when the run stopped). */
  addLoss(): void {
    if (this.#lossesOpen) this.#lostSinceIncident += 1;
  }
}

/** Loss reasons kept for the log. */
const LOSS_REASONS_KEPT = 5;

/**
 * The instance of a message id: ids are `<instanceId>-<sequence>` and instance ids contain no `-`.
 *
 * @example
 * ```ts
 * instanceIdOf('r3i07-152'); // 'r3i07'
 * ```
 */
export function instanceIdOf(messageId: string): string {
  const cut = messageId.lastIndexOf('-');
  return cut < 0 ? messageId : messageId.slice(0, cut);
}
