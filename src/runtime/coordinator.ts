import { initialTransition, transition } from 'xstate';
import { batonMachine } from '../machine/machine.js';
import type { BatonMachine } from '../machine/machine.js';
import { cachedUsable, proactiveDue } from '../machine/predicates.js';
import type { Effect, EffectParams, Failure, MachineEvent, MachineInput, StoreErrorCode } from '../machine/types.js';
import type { CoordinatorStats, TokenCoordinator, TokenCoordinatorOptions, WithTokenOptions } from './api.js';
import {
  AttemptsExhaustedError,
  BatonError,
  InvalidOptionsError,
  IssuerRefusedError,
  IssuerUnavailableError,
  ProtocolViolationError,
  RecordInvalidError,
  StoreMisconfiguredError,
  StoreUnavailableError,
  TokenRejectedError,
  TokenUnavailableError,
  invariant,
} from './errors.js';
import type { BatonEvent } from './events.js';
import { fingerprint } from './fingerprint.js';
import type { ResolvedOptions } from './options.js';
import { WAITERS_MAX, resolveOptions } from './options.js';
import type { TimerHandle } from './scheduler.js';

/** Random characters per machine start in every lease id. */
const NONCE_CHARS = 8;

/** Events the runtime may queue while it is already stepping the machine. */
const EVENT_QUEUE_MAX = 1_000;

interface Grant {
  readonly token: string;
  readonly generation: number;
}

interface Waiter {
  /** The token this waiter saw rejected; it must get another one. */
  readonly rejectedToken: string | undefined;
  readonly resolve: (grant: Grant) => void;
  readonly reject: (error: Error) => void;
}

type Snapshot = ReturnType<typeof initialTransition<BatonMachine>>[0];

/**
 * Creates the coordinator for one instance (one per Lambda instance: create it at module scope).
 *
 * @example
 * ```ts
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * import { createTokenCoordinator, DynamoDBTokenStore, TokenRejectedError } from 'dynamo-baton';
 *
 * const coordinator = createTokenCoordinator({
 *   store: new DynamoDBTokenStore({ client: new DynamoDBClient({}), tableName: 'baton', key: 'chat-bot' }),
 *   issueToken: async ({ signal }) => {
 *     const res = await fetch('https://chat.example/auth', { method: 'POST', signal });
 *     return { token: (await res.json()).token };
 *   },
 * });
 * await coordinator.withToken(async (token) => {
 *   const res = await fetch('https://chat.example/messages', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
 *   if (res.status === 401) throw new TokenRejectedError();
 * });
 * ```
 */
export function createTokenCoordinator(options: TokenCoordinatorOptions): TokenCoordinator {
  return new Coordinator(resolveOptions(options), batonMachine);
}

/**
 * Internal: a coordinator stepping another build of the protocol machine. Only the spec and
 * tests use it, to run deliberately broken variants; it is not exported from the package.
 *
 * @example
 * ```ts
 * const broken = createCoordinatorWithMachine(options, createBatonMachine({ ...PROTOCOL_RULES, fencedPublish: false }));
 * ```
 */
export function createCoordinatorWithMachine(options: TokenCoordinatorOptions, machine: BatonMachine): TokenCoordinator {
  return new Coordinator(resolveOptions(options), machine);
}

class Coordinator implements TokenCoordinator {
  readonly instanceId: string;
  readonly #options: ResolvedOptions;
  readonly #machine: BatonMachine;
  #snapshot: Snapshot;
  readonly #waiters = new Set<Waiter>();
  readonly #queue: MachineEvent[] = [];
  #stepping = false;
  #pollTimer: TimerHandle | undefined;
  #fingerprints = new Map<string, string>();
  readonly #stats = {
    authCalls: 0,
    cacheHits: 0,
    rejections: 0,
    claimsWon: 0,
    claimsLost: 0,
    takeovers: 0,
    fencedPublishes: 0,
    fencedWrites: 0,
    storeReads: 0,
    storeWrites: 0,
    publishes: 0,
    alarms: 0,
  };

  constructor(options: ResolvedOptions, machine: BatonMachine) {
    this.#options = options;
    this.#machine = machine;
    this.instanceId = options.instanceId;
    [this.#snapshot] = initialTransition(machine, this.#machineInput());
  }

  /** A fresh machine input; a new nonce each time keeps lease ids unique across restarts. */
  #machineInput(): MachineInput {
    let nonce = '';
    for (let i = 0; i < NONCE_CHARS; i += 1) nonce += Math.floor(this.#options.random() * 36).toString(36);
    return { config: this.#options.protocol, instanceId: this.#options.instanceId, nonce, nowMs: this.#options.clock.now() };
  }

  stats(): CoordinatorStats {
    return { ...this.#stats };
  }

  state(): string {
    return String(this.#snapshot.value);
  }

  async withToken<T>(fn: (token: string) => Promise<T>, options: WithTokenOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new InvalidOptionsError('fn', 'withToken needs a function (token) => Promise<result>');
    const deadlineMs = options.deadlineMs ?? this.#options.clock.now() + this.#options.waitMsMax;
    if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs)) {
      throw new InvalidOptionsError('deadlineMs', 'withToken option deadlineMs must be a finite epoch-ms number');
    }
    const maxAttempts = this.#options.maxAttempts;
    let rejected: Grant | undefined;
    let lastRejection: TokenRejectedError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const grant = await this.#acquire(rejected, deadlineMs, options.signal);
      invariant(grant.token !== rejected?.token, 'a caller never gets back a token it saw rejected');
      this.#emitTokenEvent('token-used', grant);
      try {
        return await fn(grant.token);
      } catch (error) {
        if (!(error instanceof TokenRejectedError)) throw error;
        this.#stats.rejections += 1;
        this.#emitTokenEvent('token-rejected', grant);
        rejected = grant;
        lastRejection = error;
      }
    }
    // Out of attempts: still tell the machine, so the next caller starts a refresh instead of
    // being handed the rejected token again (no refresh starts while nobody waits).
    if (rejected !== undefined) this.#send({ type: 'TOKEN_DISCARDED', token: rejected.token, generation: rejected.generation, nowMs: this.#now() });
    throw new AttemptsExhaustedError(
      maxAttempts,
      `the API rejected ${maxAttempts} token(s) in a row (maxAttempts=${maxAttempts}); refreshing did not help — ` +
        'check that no other client uses the same credentials and that the token is sent correctly',
      { cause: lastRejection },
    );
  }

  /** Gets a token other than the `rejected` one, from the cache when possible. */
  #acquire(rejected: Grant | undefined, deadlineMs: number, signal: AbortSignal | undefined): Promise<Grant> {
    const nowMs = this.#options.clock.now();
    const context = this.#snapshot.context;
    // Warm path: no machine step, no store call.
    if (rejected === undefined && this.#snapshot.value === 'using' && cachedUsable(context, nowMs) && !proactiveDue(context, nowMs)) {
      this.#stats.cacheHits += 1;
      return Promise.resolve({ token: context.cached.value, generation: context.cached.generation });
    }
    if (signal?.aborted === true) return Promise.reject(new TokenUnavailableError('aborted', 'the wait for a token was aborted by the caller'));
    if (nowMs >= deadlineMs) return Promise.reject(this.#deadlineError(deadlineMs));
    if (this.#waiters.size >= WAITERS_MAX) {
      return Promise.reject(new TokenUnavailableError('deadline', `more than ${WAITERS_MAX} calls are already waiting for a token in this instance; retry later`));
    }
    return new Promise<Grant>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const onAbort = (): void => giveUp(new TokenUnavailableError('aborted', 'the wait for a token was aborted by the caller'));
      // A caller leaving without a token: when it was the last, the machine may stop polling.
      const giveUp = (error: Error): void => {
        if (!this.#waiters.has(waiter)) return;
        settle(() => reject(error));
        if (this.#waiters.size === 0) this.#send({ type: 'CALLERS_GONE', nowMs: this.#now() });
      };
      const settle = (finish: () => void): void => {
        if (!this.#waiters.delete(waiter)) return;
        if (timer !== undefined) this.#options.scheduler.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        finish();
      };
      const waiter: Waiter = {
        rejectedToken: rejected?.token,
        resolve: (grant) => settle(() => resolve(grant)),
        reject: (error) => settle(() => reject(error)),
      };
      this.#waiters.add(waiter);
      timer = this.#options.scheduler.setTimeout(() => giveUp(this.#deadlineError(deadlineMs)), Math.max(0, deadlineMs - nowMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      const readsBefore = this.#stats.storeReads;
      this.#send(
        rejected === undefined ? { type: 'TOKEN_NEEDED', nowMs } : { type: 'TOKEN_REJECTED', token: rejected.token, generation: rejected.generation, nowMs },
      );
      // Served by the machine from memory (e.g. a proactive refresh started meanwhile): still a cache hit.
      if (!this.#waiters.has(waiter) && this.#stats.storeReads === readsBefore) this.#stats.cacheHits += 1;
    });
  }

  #deadlineError(deadlineMs: number): TokenUnavailableError {
    const state = this.state();
    return new TokenUnavailableError(
      'deadline',
      `no usable token before the deadline (${new Date(deadlineMs).toISOString()}); this instance was "${state}" ` +
        '(another instance may still be refreshing). Retry later; nothing was sent with a stale token.',
    );
  }

  /** Steps the machine with `event` and performs the effects, one event at a time. */
  #send(event: MachineEvent): void {
    if (this.#queue.length >= EVENT_QUEUE_MAX) throw new ProtocolViolationError(`more than ${EVENT_QUEUE_MAX} machine events queued`);
    this.#queue.push(event);
    if (this.#stepping) return;
    this.#stepping = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) this.#step(next);
    } finally {
      this.#stepping = false;
    }
  }

  #step(event: MachineEvent): void {
    const before = this.state();
    let effects: readonly unknown[];
    try {
      [this.#snapshot, effects] = transition(this.#machine, this.#snapshot, event);
    } catch (error) {
      this.#recoverFromViolation(error);
      return;
    }
    const after = this.state();
    if (after !== before) this.#emit({ type: 'state', instanceId: this.instanceId, atMs: event.nowMs, from: before, to: after });
    for (const effect of effects) this.#perform(effect as Effect);
  }

  /** A broken invariant: fail every waiter loudly and start over from a clean machine. */
  #recoverFromViolation(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.#options.logger.error('baton: protocol invariant broken; resetting this instance', { instanceId: this.instanceId, message });
    const violation = new ProtocolViolationError(message);
    for (const waiter of [...this.#waiters]) waiter.reject(violation);
    [this.#snapshot] = initialTransition(this.#machine, this.#machineInput());
  }

  #perform(effect: Effect): void {
    switch (effect.type) {
      case 'readRecord':
        return this.#read(effect.params);
      case 'writeRecord':
        return this.#write(effect.params);
      case 'callIssuer':
        return this.#callIssuer(effect.params);
      case 'renewLease':
        return this.#heartbeat(effect.params);
      case 'extendIssuerDeadline':
        return this.#extendIssuerDeadline(effect.params);
      case 'abortIssuer': {
        const call = this.#issuerCall;
        if (call?.requestId !== effect.params.requestId) return;
        this.#issuerCall = undefined;
        this.#options.scheduler.clearTimeout(call.abortTimer);
        call.controller.abort(new Error('the refresh lease was taken over'));
        return;
      }
      case 'startTimer':
        return this.#startTimer(effect.params);
      case 'deliverToken':
        return this.#deliver(effect.params);
      case 'failWaiters':
        return this.#fail(effect.params.failure);
      case 'raiseAlarm':
        return this.#alarm(effect.params);
      case 'reportFenced': {
        const { intent } = effect.params;
        this.#stats.fencedWrites += 1;
        if (intent === 'publish') this.#stats.fencedPublishes += 1;
        this.#options.logger.warn(`baton: fenced out: our ${intent} was refused because another instance took over the lease; following the stored item`, {
          instanceId: this.instanceId,
          intent,
        });
        return this.#emit({ type: 'fenced', instanceId: this.instanceId, atMs: this.#now(), intent });
      }
      case 'reportClaim':
        if (effect.params.won) this.#stats.claimsWon += 1;
        else this.#stats.claimsLost += 1;
        return;
      case 'reportPublished':
        return this.#published(effect.params.generation, effect.params.token);
      case 'reportTakeover':
        this.#stats.takeovers += 1;
        this.#options.logger.warn('baton: took over a stale refresh lease', { instanceId: this.instanceId, staleHolder: effect.params.staleHolder });
        return this.#emit({ type: 'takeover', instanceId: this.instanceId, atMs: this.#now(), staleLeaseHolder: effect.params.staleHolder });
      default:
        // xstate's own bookkeeping actions (assign, enqueue) are already applied by `transition`.
        return;
    }
  }

  #now(): number {
    return this.#options.clock.now();
  }

  #read(params: EffectParams['readRecord']): void {
    this.#stats.storeReads += 1;
    this.#options.store.read({ consistent: params.consistent }).then(
      (record) => {
        this.#emit({ type: 'store-read', instanceId: this.instanceId, atMs: this.#now(), found: record !== undefined, generation: record?.generation });
        this.#send({ type: 'READ_OK', requestId: params.requestId, record, nowMs: this.#now() });
      },
      (error: unknown) => {
        const { code, message } = storeErrorOf(error, 'read');
        this.#options.logger.warn('baton: store read failed', { instanceId: this.instanceId, code, message });
        this.#send({ type: 'READ_FAILED', requestId: params.requestId, code, message, cause: error, nowMs: this.#now() });
      },
    );
  }

  #write(params: EffectParams['writeRecord']): void {
    const { request } = params;
    invariant(typeof request.condition.exists === 'boolean', 'every write states its condition');
    this.#stats.storeWrites += 1;
    this.#options.store.write(request).then(
      (outcome) => {
        this.#emit({ type: 'store-write', instanceId: this.instanceId, atMs: this.#now(), intent: request.intent, outcome: outcome.applied ? 'applied' : 'condition-failed' });
        // Claims won or lost and tokens published are counted from the machine's reports, which also
        // recognise a write whose answer was lost (the store's answer alone would miscount it).
        if (outcome.applied) {
          this.#send({ type: 'WRITE_APPLIED', requestId: params.requestId, record: outcome.record, nowMs: this.#now() });
        } else {
          this.#send({ type: 'WRITE_REFUSED', requestId: params.requestId, current: outcome.current, nowMs: this.#now() });
        }
      },
      (error: unknown) => {
        this.#emit({ type: 'store-write', instanceId: this.instanceId, atMs: this.#now(), intent: request.intent, outcome: 'ambiguous' });
        const { code, message } = storeErrorOf(error, 'write');
        const nowMs = this.#now();
        if (code === 'STORE_UNAVAILABLE') {
          this.#options.logger.warn('baton: store write outcome unknown; reading back', { instanceId: this.instanceId, intent: request.intent, message });
          this.#send({ type: 'WRITE_AMBIGUOUS', requestId: params.requestId, message, nowMs });
        } else {
          this.#options.logger.error('baton: store write refused by configuration', { instanceId: this.instanceId, code, message });
          this.#send({ type: 'WRITE_FAILED', requestId: params.requestId, code, message, cause: error, nowMs });
        }
      },
    );
  }

  #published(generation: number, token: string): void {
    this.#stats.publishes += 1;
    this.#emit({ type: 'token-published', instanceId: this.instanceId, atMs: this.#now(), generation, fingerprint: this.#fingerprint(token) });
  }

  /** A heartbeat: the same conditional renewal as any other, answered with its own events. */
  #heartbeat(params: EffectParams['renewLease']): void {
    const { request, heartbeatId } = params;
    invariant(request.intent === 'renew' && typeof request.condition.leaseId === 'string', 'a heartbeat renews the lease it holds');
    this.#stats.storeWrites += 1;
    this.#options.store.write(request).then(
      (outcome) => {
        this.#emit({ type: 'store-write', instanceId: this.instanceId, atMs: this.#now(), intent: request.intent, outcome: outcome.applied ? 'applied' : 'condition-failed' });
        this.#send(
          outcome.applied
            ? { type: 'HEARTBEAT_APPLIED', heartbeatId, record: outcome.record, nowMs: this.#now() }
            : { type: 'HEARTBEAT_REFUSED', heartbeatId, current: outcome.current, nowMs: this.#now() },
        );
      },
      (error: unknown) => {
        this.#emit({ type: 'store-write', instanceId: this.instanceId, atMs: this.#now(), intent: request.intent, outcome: 'ambiguous' });
        const { code, message } = storeErrorOf(error, 'write');
        this.#options.logger.warn('baton: lease heartbeat outcome unknown; the issuer keeps its earlier deadline', { instanceId: this.instanceId, code, message });
        this.#send({ type: 'HEARTBEAT_UNKNOWN', heartbeatId, nowMs: this.#now() });
      },
    );
  }

  #extendIssuerDeadline(params: EffectParams['extendIssuerDeadline']): void {
    const call = this.#issuerCall;
    // Already answered or aborted: nothing to extend.
    if (call?.requestId !== params.requestId || call.controller.signal.aborted) return;
    this.#options.scheduler.clearTimeout(call.abortTimer);
    call.abortTimer = this.#abortTimer(call.controller, params.abortAfterMs);
  }

  #abortTimer(controller: AbortController, afterMs: number): TimerHandle {
    return this.#options.scheduler.setTimeout(() => controller.abort(new Error('refresh lease about to run out')), afterMs);
  }

  /** The `POST /auth` call in flight (at most one), so a heartbeat can move its deadline or a takeover abort it. */
  #issuerCall: { readonly requestId: number; readonly controller: AbortController; abortTimer: TimerHandle } | undefined;

  #callIssuer(params: EffectParams['callIssuer']): void {
    this.#stats.authCalls += 1;
    const controller = new AbortController();
    const call = { requestId: params.requestId, controller, abortTimer: this.#abortTimer(controller, params.abortAfterMs) };
    this.#issuerCall = call;
    const settle = (): void => {
      this.#options.scheduler.clearTimeout(call.abortTimer);
      if (this.#issuerCall === call) this.#issuerCall = undefined;
    };
    let issuing: Promise<unknown>;
    try {
      issuing = Promise.resolve(this.#options.issueToken({ signal: controller.signal }));
    } catch (error) {
      issuing = Promise.reject(error);
    }
    issuing.then(
      (issued) => {
        settle();
        const nowMs = this.#now();
        const checked = checkIssued(issued);
        if (typeof checked === 'string') {
          this.#options.logger.error(`baton: issueToken returned ${checked}; treating the refresh outcome as unknown`, { instanceId: this.instanceId });
          this.#emit({ type: 'issuer-call', instanceId: this.instanceId, atMs: nowMs, outcome: 'unknown' });
          this.#send({ type: 'ISSUE_UNKNOWN', requestId: params.requestId, nowMs });
          return;
        }
        this.#emit({ type: 'issuer-call', instanceId: this.instanceId, atMs: nowMs, outcome: 'issued' });
        this.#send({ type: 'ISSUED', requestId: params.requestId, nowMs, token: checked.token, ...(checked.expiresAtMs === undefined ? {} : { expiresAtMs: checked.expiresAtMs }) });
      },
      (error: unknown) => {
        settle();
        const nowMs = this.#now();
        if (error instanceof IssuerRefusedError) {
          this.#options.logger.error('baton: the issuer refused the credentials', { instanceId: this.instanceId, status: error.status });
          this.#emit({ type: 'issuer-call', instanceId: this.instanceId, atMs: nowMs, outcome: 'refused' });
          this.#send({ type: 'ISSUE_REFUSED', requestId: params.requestId, status: error.status, nowMs });
          return;
        }
        this.#options.logger.warn('baton: POST /auth outcome unknown (error, 5xx, timeout or lost answer)', {
          instanceId: this.instanceId,
          error: error instanceof Error ? error.name : typeof error,
        });
        this.#emit({ type: 'issuer-call', instanceId: this.instanceId, atMs: nowMs, outcome: 'unknown' });
        this.#send({ type: 'ISSUE_UNKNOWN', requestId: params.requestId, nowMs });
      },
    );
  }

  #startTimer(params: EffectParams['startTimer']): void {
    const spreadMs = params.delayMsMax - params.delayMsMin;
    const delayMs = params.delayMsMin + Math.floor(this.#options.random() * (spreadMs + 1));
    if (this.#pollTimer !== undefined) this.#options.scheduler.clearTimeout(this.#pollTimer);
    this.#pollTimer = this.#options.scheduler.setTimeout(() => {
      this.#pollTimer = undefined;
      this.#send({ type: 'TIMER', timerId: params.timerId, nowMs: this.#now() });
    }, delayMs);
  }

  #deliver(params: EffectParams['deliverToken']): void {
    if (this.#lastAdopted !== params.token) {
      this.#lastAdopted = params.token;
      this.#emitTokenEvent('token-adopted', { token: params.token, generation: params.generation });
    }
    for (const waiter of [...this.#waiters]) {
      if (params.token !== waiter.rejectedToken) waiter.resolve({ token: params.token, generation: params.generation });
    }
  }
  #lastAdopted: string | undefined;

  #fail(failure: Failure): void {
    const error = errorOf(failure);
    this.#options.logger.warn('baton: callers get an error', { instanceId: this.instanceId, code: error.code, message: error.message });
    for (const waiter of [...this.#waiters]) waiter.reject(error);
  }

  #alarm(params: EffectParams['raiseAlarm']): void {
    this.#stats.alarms += 1;
    this.#options.logger.error(`baton alarm ${params.code}: ${params.message}`, { instanceId: this.instanceId });
    this.#emit({ type: 'alarm', instanceId: this.instanceId, atMs: this.#now(), code: params.code, message: params.message });
  }

  #fingerprint(token: string): string {
    let print = this.#fingerprints.get(token);
    if (print === undefined) {
      if (this.#fingerprints.size > 16) this.#fingerprints.clear();
      print = fingerprint(token);
      this.#fingerprints.set(token, print);
    }
    return print;
  }

  #emitTokenEvent(type: 'token-used' | 'token-rejected' | 'token-adopted', grant: Grant): void {
    if (this.#options.onEvent === undefined) return;
    this.#emit({ type, instanceId: this.instanceId, atMs: this.#now(), generation: grant.generation, fingerprint: this.#fingerprint(grant.token) });
  }

  #emit(event: BatonEvent): void {
    const onEvent = this.#options.onEvent;
    if (onEvent === undefined) return;
    try {
      onEvent(event);
    } catch (error) {
      // An observer's bug must not break the protocol.
      this.#options.logger.warn('baton: onEvent threw; ignoring', { error: error instanceof Error ? error.message : String(error) });
    }
  }
}

function checkIssued(issued: unknown): { token: string; expiresAtMs?: number } | string {
  if (typeof issued !== 'object' || issued === null) return 'no object';
  const { token, expiresAtMs } = issued as { token?: unknown; expiresAtMs?: unknown };
  if (typeof token !== 'string' || token.length === 0) return 'no token string';
  if (expiresAtMs !== undefined && (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs))) return 'a non-numeric expiresAtMs';
  return expiresAtMs === undefined ? { token } : { token, expiresAtMs };
}

function storeErrorOf(error: unknown, operation: 'read' | 'write'): { code: StoreErrorCode; message: string } {
  if (error instanceof StoreMisconfiguredError) return { code: 'STORE_MISCONFIGURED', message: error.message };
  if (error instanceof RecordInvalidError) return { code: 'RECORD_INVALID', message: error.message };
  if (error instanceof BatonError) return { code: 'STORE_UNAVAILABLE', message: error.message };
  const name = error instanceof Error ? error.name : typeof error;
  return { code: 'STORE_UNAVAILABLE', message: `store ${operation} failed (${name})` };
}

function errorOf(failure: Failure): BatonError {
  switch (failure.kind) {
    case 'issuer-refused':
      return new IssuerRefusedError(failure.message, { backoffUntilMs: failure.backoffUntilMs, ...(failure.status === undefined ? {} : { status: failure.status }) });
    case 'issuer-unavailable':
      return new IssuerUnavailableError(failure.message);
    case 'round-limit':
      return new TokenUnavailableError('round-limit', failure.message);
    case 'store':
      if (failure.code === 'STORE_MISCONFIGURED') return new StoreMisconfiguredError(failure.message, { cause: failure.cause });
      if (failure.code === 'RECORD_INVALID') return new RecordInvalidError(failure.message, { cause: failure.cause });
      return new StoreUnavailableError(failure.message, { cause: failure.cause });
  }
}
