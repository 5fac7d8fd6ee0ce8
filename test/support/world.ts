import { FakeChatApi } from '../../src/fake/chat-api.js';
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import { IssuerRefusedError, TokenRejectedError } from '../../src/runtime/errors.js';
import type { BatonEvent } from '../../src/runtime/events.js';
import type { TokenCoordinator, TokenCoordinatorOptions } from '../../src/runtime/api.js';
import { MemoryTokenStore } from '../../src/runtime/memory-store.js';
import type { WriteRequest } from '../../src/machine/record.js';
import { VirtualTime } from './virtual-time.js';

export const SECRET = 'world-secret-do-not-log';

/** A token string the fake API issues for a generation (known to the test, never to the fleet). */
export function tokenOf(generation: number): string {
  return `tok-${generation}-secretvalue`;
}

export interface WorldOptions {
  readonly instances: number;
  /** Latency of POST /auth; the server acts at half of it. */
  readonly authMs?: number;
  /** Latency of one store call; the store acts at half of it. */
  readonly ddbMs?: number;
  /** Per-instance clock skew. */
  readonly skewMs?: readonly number[];
  readonly tokenTtlMs?: number;
  readonly coordinator?: Partial<TokenCoordinatorOptions>;
  readonly random?: () => number;
}

/** Per-instance fault switches, read at the moment they matter. */
export interface InstanceFaults {
  /** The process dies right after POST /auth answered (before publishing). */
  crashAfterIssue?: boolean;
  /**
   * The issuer call stalls this long in total and ignores the abort signal (a frozen process:
   * its timers, such as the lease heartbeat, fire only once the stall is over).
   */
  stallIssuerMs?: number;
  /** Set while a stall runs: the process is frozen until then (virtual time). */
  frozenUntilMs?: number;
  /** The instance is dead: its pending work never continues. */
  crashed?: boolean;
  /**
   * With `stallIssuerMs`: when (ms after the call) the POST /auth request reaches the server.
   * Default `authMs / 2`. Lets a stalled request land *after* a successor's refresh.
   */
  issuerArrivesAfterMs?: number;
}

/** N coordinators on virtual time, one memory store, one strict fake chat API. */
export class World {
  readonly time = new VirtualTime();
  readonly api: FakeChatApi;
  readonly store: MemoryTokenStore;
  readonly coordinators: TokenCoordinator[] = [];
  readonly faults: InstanceFaults[] = [];
  readonly events: BatonEvent[] = [];
  readonly clocks: { now(): number; jump(ms: number): void }[] = [];
  /** Writes whose response is lost (applied, then the caller sees an error). */
  loseWriteResponse: (request: WriteRequest) => boolean = () => false;
  /**
   * Writes whose first response is lost and that the SDK then retries as is: the first attempt
   * is applied, the caller sees the retry's outcome (usually a failed condition).
   */
  sdkRetryWrite: (request: WriteRequest) => boolean = () => false;
  /** Every write request any instance sent to the store (applied or not), in order. */
  readonly writeLog: { index: number; atMs: number; request: WriteRequest }[] = [];
  /** Reads that fail without effect (throttled / unreachable store), per instance index. */
  failRead: (index: number) => boolean = () => false;
  /** Called with every protocol event, after it is recorded in `events`. */
  readonly listeners: ((event: BatonEvent) => void)[] = [];
  /** Everything the coordinators logged (message and details), to check that no secret leaks. */
  readonly logs: { level: string; message: string; details: unknown[] }[] = [];
  readonly authMs: number;
  readonly ddbMs: number;

  constructor(options: WorldOptions) {
    this.authMs = options.authMs ?? 300;
    this.ddbMs = options.ddbMs ?? 10;
    this.api = new FakeChatApi({
      secret: SECRET,
      clock: { now: () => this.time.nowMs },
      generateToken: tokenOf,
      ...(options.tokenTtlMs === undefined ? {} : { tokenTtlMs: options.tokenTtlMs }),
    });
    const half = Math.floor(this.ddbMs / 2);
    this.store = new MemoryTokenStore({
      beforeOperation: () => this.time.sleep(half),
      afterOperation: async (operation, request) => {
        await this.time.sleep(this.ddbMs - half);
        if (operation === 'write' && request !== undefined && this.loseWriteResponse(request)) {
          throw new Error('simulated timeout: the write was applied but its response was lost');
        }
      },
    });
    let seed = 42;
    const random = options.random ?? (() => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31));
    for (let i = 0; i < options.instances; i += 1) this.addInstance(options.skewMs?.[i] ?? 0, random, options.coordinator ?? {});
  }

  addInstance(skewMs: number, random: () => number, overrides: Partial<TokenCoordinatorOptions> = {}): TokenCoordinator {
    const index = this.coordinators.length;
    const faults: InstanceFaults = {};
    const clock = this.time.clock(skewMs);
    const log =
      (level: string) =>
      (message: string, ...details: unknown[]): void => {
        this.logs.push({ level, message, details });
      };
    const coordinator = createTokenCoordinator({
      store: this.guardedStore(faults, index),
      issueToken: (context) => this.issue(faults, context.signal),
      clock,
      random,
      scheduler: this.guardedScheduler(faults),
      instanceId: `i${index}`,
      onEvent: (event) => {
        this.events.push(event);
        for (const listener of this.listeners) listener(event);
      },
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
      ...overrides,
    });
    this.coordinators.push(coordinator);
    this.faults.push(faults);
    this.clocks.push(clock);
    return coordinator;
  }

  /** A crashed instance's store calls never answer. */
  private guardedStore(faults: InstanceFaults, index: number): MemoryTokenStore {
    const never = new Promise<never>(() => {});
    return new Proxy(this.store, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (faults.crashed === true) return never;
          if (property === 'read' && this.failRead(index)) {
            return this.time.sleep(this.ddbMs).then(() => Promise.reject(new Error('simulated throttling: the read never reached the store')));
          }
          const request = args[0] as WriteRequest;
          if (property === 'write') this.writeLog.push({ index, atMs: this.time.nowMs, request });
          if (property === 'write' && this.sdkRetryWrite(request)) {
            const retried = target.write(request).then(
              () => target.write(request),
              () => target.write(request),
            );
            return retried.then((r) => (faults.crashed === true ? never : r));
          }
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          return result instanceof Promise ? result.then((r) => (faults.crashed === true ? never : r)) : result;
        };
      },
    });
  }

  /** A crashed instance's timers never fire. */
  private guardedScheduler(faults: InstanceFaults) {
    return {
      setTimeout: (callback: () => void, delayMs: number) => {
        // A frozen process runs its due timers when it thaws (the handle of the first arming stays valid for clearTimeout).
        const handle = { inner: undefined as unknown, cleared: false };
        const fire = (): void => {
          if (handle.cleared || faults.crashed === true) return;
          const frozenForMs = (faults.frozenUntilMs ?? 0) - this.time.nowMs;
          if (frozenForMs > 0) handle.inner = this.time.scheduler.setTimeout(fire, frozenForMs);
          else callback();
        };
        handle.inner = this.time.scheduler.setTimeout(fire, delayMs);
        return handle;
      },
      clearTimeout: (handle: unknown) => {
        const wrapped = handle as { inner: unknown; cleared: boolean };
        wrapped.cleared = true;
        this.time.scheduler.clearTimeout(wrapped.inner);
      },
    };
  }

  private async issue(faults: InstanceFaults, signal: AbortSignal): Promise<{ token: string; expiresAtMs?: number }> {
    const stalled = faults.stallIssuerMs;
    if (stalled !== undefined) faults.frozenUntilMs = this.time.nowMs + stalled;
    const arriveMs = stalled === undefined ? Math.floor(this.authMs / 2) : (faults.issuerArrivesAfterMs ?? Math.floor(this.authMs / 2));
    if (stalled === undefined) await this.time.sleep(arriveMs, signal);
    else await this.time.sleep(arriveMs);
    // A dead process sends nothing more (only instances crashed before their call reaches the server).
    if (faults.crashed === true) return new Promise(() => {});
    const result = this.api.auth(SECRET);
    if (stalled === undefined) await this.time.sleep(this.authMs - arriveMs, signal);
    else await this.time.sleep(Math.max(0, stalled - arriveMs));
    if (faults.crashAfterIssue === true) {
      faults.crashed = true;
      return new Promise(() => {});
    }
    if (result.status === 200) return result.expiresAtMs === undefined ? { token: result.token } : { token: result.token, expiresAtMs: result.expiresAtMs };
    if (result.status === 401) throw new IssuerRefusedError('POST /auth refused the secret', { status: 401 });
    throw new Error(`POST /auth failed: ${String(result.status)}`);
  }

  /** Sends a message from instance `index` through its coordinator; 401 becomes TokenRejectedError. */
  send(index: number, messageId: string, options: { deadlineMs?: number } = {}): Promise<{ duplicate: boolean }> {
    const coordinator = this.coordinators[index];
    if (coordinator === undefined) throw new Error(`no instance ${index}`);
    const faults = this.faults[index];
    return coordinator.withToken(async (token) => {
      await this.time.sleep(2);
      if (faults?.crashed === true) return new Promise<never>(() => {});
      const result = this.api.postMessage(token, { messageId, room: 'general', text: `hello ${messageId}` });
      if (result.status === 200) return { duplicate: result.duplicate };
      if (result.status === 401) throw new TokenRejectedError('chat API answered 401');
      throw new Error(`chat API answered ${result.status}`);
    }, options);
  }

  /** The token the chat API currently accepts (undefined when none is valid). */
  acceptedToken(): string | undefined {
    const generation = this.api.stats().currentGeneration;
    return generation === undefined || generation === 0 ? undefined : tokenOf(generation);
  }

  authCalls(): number {
    return this.api.stats().authCalls;
  }
}
