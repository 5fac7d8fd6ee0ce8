/**
 * The simulated fleet on fast-check's scheduler: N coordinators running the real machine and
 * runtime against one {@link MemoryTokenStore} and the strict {@link FakeChatApi}, on virtual time.
 *
 * Every store call, `POST /auth` and `POST /messages` goes through the fast-check scheduler twice:
 * its *arrival* (the effect happens after the scheduler releases it, so concurrent requests reach
 * the store in any order) and its *response*. Between the two legs a call may also take virtual
 * time (drawn latencies). The driver alternates: let the scheduler run every released task to idle
 * (`waitIdle`), then move virtual time to the next timer instant and fire it; repeat.
 *
 * Each instance has its own clock (an offset from true time, with jumps) and can crash (its pending
 * work never continues), freeze (everything it does waits until it thaws, like a Lambda frozen
 * between invocations) or be replaced by a cold instance. Faults are drawn per run (see
 * {@link FaultPlan}); after the fault phase the world goes quiet, every live instance sends one more
 * message, and the run drains. Everything is recorded in a {@link SimHistory} for the checkers in
 * `invariants.ts`.
 */
import type fc from 'fast-check';
import { AUTH_MODES, FakeChatApi } from '../../src/fake/chat-api.js';
import type { AuthMode, AuthResult, ChatApiStats, ChatLogEntry, DeliveredMessage } from '../../src/fake/chat-api.js';
import { createBatonMachine } from '../../src/machine/machine.js';
import type { TokenRecord, WriteOutcome, WriteRequest } from '../../src/machine/record.js';
import { PROTOCOL_RULES } from '../../src/machine/rules.js';
import type { ProtocolRules } from '../../src/machine/rules.js';
import type { IssuedToken, TokenCoordinator, TokenCoordinatorOptions } from '../../src/runtime/api.js';
import { createCoordinatorWithMachine, createTokenCoordinator } from '../../src/runtime/coordinator.js';
import { IssuerRefusedError, TokenRejectedError } from '../../src/runtime/errors.js';
import type { BatonEvent } from '../../src/runtime/events.js';
import { MemoryTokenStore } from '../../src/runtime/memory-store.js';
import type { MemoryWriteEntry } from '../../src/runtime/memory-store.js';
import type { Scheduler } from '../../src/runtime/scheduler.js';
import type { TokenStore } from '../../src/runtime/store.js';
import { VirtualTime, flushMicrotasks } from '../support/virtual-time.js';

export { AUTH_MODES };
export type { AuthMode };

/** The chat API secret of the simulation. */
export const SIM_SECRET = 'sim-secret-never-logged';

/** Driver iterations a run may take before it is declared a runaway (an unbounded loop). */
export const DRIVER_STEPS_MAX = 400_000;

/** How long, after the fault phase, the world may take to go quiet (in leases). */
export const QUIET_LIMIT_LEASES = 12;

/**
 * Rounds of the settle phase at most. In each round every live instance sends one message; the
 * phase ends with the first *stable* round: every message went through at its first attempt with
 * the token the chat API accepts, and no `POST /auth` happened (convergence needs demand: a
 * refresh only happens when someone uses the dead token).
 */
export const SETTLE_ROUNDS = 4;

/** How long the settle phase may take at most before the run gives up (in leases). */
export const SETTLE_LIMIT_LEASES = 40;

/** Token value of an API generation: readable in timelines, unique by construction. */
export function simToken(generation: number): string {
  return `tok-g${generation}`;
}

/** The API generation a token of {@link simToken} stands for (`undefined` for anything else). */
export function tokenGeneration(token: string | undefined): number | undefined {
  const match = token === undefined ? null : /^tok-g(\d+)$/.exec(token);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Timing of one simulated run. All ms. */
export interface SimTiming {
  readonly leaseMs: number;
  readonly maxClockSkewMs: number;
  readonly pollMs: number;
  readonly maxAttempts: number;
  /** Largest latency of one leg (request or response) of a store call. */
  readonly storeLegMsMax: number;
  /** Range of a healthy `POST /auth` round trip (always well below the lease). */
  readonly authMsMin: number;
  readonly authMsMax: number;
  /** Largest latency of one leg of a `POST /messages` call. */
  readonly chatLegMsMax: number;
  /** How long a caller in the fault phase waits for a token (its `deadlineMs` is now + this). */
  readonly callWaitMs: number;
}

/** A `POST /auth` that takes longer than the lease and ignores the abort (a stalled request). */
export interface SlowAuth {
  /** Index of the fleet's `POST /auth` call (0 = first) this applies to. */
  readonly call: number;
  readonly latencyMs: number;
  /** When, as a fraction of the latency, the request reaches the server (late = a stale landing). */
  readonly landingFraction: number;
}

/** Faults of one run, each drawn independently; all stop at the end of the fault phase. */
export interface FaultPlan {
  /** Instance (slot) crashes at a time. */
  readonly crashes: readonly { readonly slot: number; readonly atMs: number }[];
  /** Slots whose first `POST /auth` that issues a token is followed by a crash (before publishing). */
  readonly crashAfterIssue: readonly number[];
  /** A crashed slot is replaced by a cold instance this long after the crash (`undefined`: never). */
  readonly restartAfterMs: number | undefined;
  /** Freezes: the slot's process stops for a while (timers, requests and responses all wait). */
  readonly freezes: readonly { readonly slot: number; readonly atMs: number; readonly forMs: number }[];
  /** Fleet write indices (0 = first write sent) that are applied but whose response is lost. */
  readonly lostWriteResponses: readonly number[];
  /** Fleet write indices that never reach the store (the caller sees an error). */
  readonly lostWriteRequests: readonly number[];
  /** Fleet read indices that fail (throttled). */
  readonly failedReads: readonly number[];
  /** Writes (fleet index) whose request is delayed this long before reaching the store (network, SDK retries). */
  readonly slowWrites: readonly { readonly index: number; readonly delayMs: number }[];
  /** Reads (fleet index) whose answer is delayed this long after the read took effect (the reader decides on an old view). */
  readonly slowReads: readonly { readonly index: number; readonly delayMs: number }[];
  /** `POST /auth` calls slower than the lease. */
  readonly slowAuth: readonly SlowAuth[];
  /** `POST /auth` call indices that issue a token whose answer is lost. */
  readonly lostAuthAnswers: readonly number[];
  /** `POST /auth` call indices answered 500 without issuing. */
  readonly auth5xx: readonly number[];
  /** Changes of the issuer's behaviour over time (`refuse`: credentials refused, …). */
  readonly issuerModes: readonly { readonly atMs: number; readonly mode: AuthMode }[];
  /** Outside events: another party calls `POST /auth`, or the current token expires. */
  readonly outside: readonly { readonly atMs: number; readonly kind: 'invalidate' | 'expire' }[];
  /** Clock jumps: the slot's clock offset becomes `toOffsetMs`. */
  readonly jumps: readonly { readonly slot: number; readonly atMs: number; readonly toOffsetMs: number }[];
}

/** One run. */
export interface SimPlan {
  readonly instances: number;
  readonly timing: SimTiming;
  /** Initial clock offset of each slot. */
  readonly offsetsMs: readonly number[];
  /** Whether every pairwise clock difference stays within `maxClockSkewMs` all run long. */
  readonly skewWithinTolerance: boolean;
  /** Whether a token is already stored (and valid) at the start; otherwise the table is empty. */
  readonly initiallyStored: boolean;
  readonly faultPhaseMs: number;
  /** Messages sent in the fault phase. */
  readonly sends: readonly { readonly slot: number; readonly atMs: number }[];
  readonly faults: FaultPlan;
  /** Seed of the latencies and of each instance's poll jitter. */
  readonly latencySeed: number;
}

/** A plan without faults. */
export const NO_FAULTS: FaultPlan = {
  crashes: [],
  crashAfterIssue: [],
  restartAfterMs: undefined,
  freezes: [],
  lostWriteResponses: [],
  lostWriteRequests: [],
  failedReads: [],
  slowWrites: [],
  slowReads: [],
  slowAuth: [],
  lostAuthAnswers: [],
  auth5xx: [],
  issuerModes: [],
  outside: [],
  jumps: [],
};

/** One line of the readable timeline. */
export interface TimelineLine {
  readonly atMs: number;
  readonly who: string;
  readonly state: string;
  readonly action: string;
  readonly item: string;
}

export interface InstanceRecord {
  readonly id: string;
  readonly slot: number;
  readonly joinedAtMs: number;
  crashedAtMs: number | undefined;
  readonly freezes: { fromMs: number; toMs: number }[];
  /** Store calls it waited on beyond the normal latency (slow-store faults). */
  readonly stalls: { fromMs: number; toMs: number }[];
  /** Offset changes of its clock, oldest first (the first is the initial offset). */
  readonly offsets: { atMs: number; offsetMs: number }[];
}

export type WriteFate = 'pending' | 'applied' | 'refused' | 'lost-request' | 'crashed';

export interface WriteRecord {
  readonly index: number;
  readonly writer: string;
  readonly request: WriteRequest;
  readonly sentAtMs: number;
  /** The item as this instance last saw it when it sent the write (`seenKnown` false: never saw it). */
  readonly seen: TokenRecord | undefined;
  readonly seenKnown: boolean;
  fate: WriteFate;
  arrivedAtMs: number | undefined;
  responseLost: boolean;
  seq: number | undefined;
  before: TokenRecord | undefined;
  after: TokenRecord | undefined;
}

export interface StateRecord {
  readonly instance: string;
  readonly atMs: number;
  readonly from: string;
  readonly to: string;
  /** Entered right after a failed store call (e.g. the pause before reading back an ambiguous write). */
  readonly afterFailedCall: boolean;
}

export interface CallRecord {
  readonly id: number;
  readonly instance: string;
  readonly messageId: string;
  readonly phase: 'fault' | 'settle' | 'model';
  readonly startMs: number;
  readonly waitMs: number;
  readonly attempts: { startMs: number; endMs: number | undefined; status: number | undefined; generation: number | undefined }[];
  settledAtMs: number | undefined;
  outcome: { ok: true } | { ok: false; error: unknown } | undefined;
}

export type IssuerFate = 'pending' | 'aborted' | 'landed' | 'delivered' | 'abandoned';

export interface IssuerCallRecord {
  readonly index: number;
  readonly instance: string;
  readonly sentAtMs: number;
  readonly slow: boolean;
  fate: IssuerFate;
  landedAtMs: number | undefined;
  /** What the server did: issued (token generation), refused, 500, or issued but the answer was lost. */
  result: 'issued' | 'refused' | 'error' | 'lost-answer' | undefined;
  generation: number | undefined;
  deliveredAtMs: number | undefined;
}

/** One round of the settle phase. */
export interface SettleRound {
  readonly round: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly callIds: readonly number[];
  /** Every message at its first attempt with the accepted token, no `POST /auth`, store = API token, no lease. */
  readonly stable: boolean;
}

/** Something a checker (or the harness itself, online) found wrong. */
export interface Violation {
  /** `I1` … `I8`. */
  readonly invariant: string;
  /** `structural`: the shape of a request is wrong; `behavioral`: something happened that must not. */
  readonly kind: 'structural' | 'behavioral';
  readonly atMs: number;
  readonly message: string;
}

/** Everything a run recorded. Times are true (virtual) epoch ms; `t0Ms` is the start. */
export interface SimHistory {
  readonly protocol: string;
  readonly timing: SimTiming;
  readonly t0Ms: number;
  readonly endMs: number;
  readonly faultPhaseEndMs: number;
  readonly quietAtMs: number | undefined;
  readonly settleStartMs: number | undefined;
  readonly settleRounds: readonly SettleRound[];
  /** Whether timing bounds (I1 take-over timing, I5, I6 bound) apply: latencies bounded, skew within tolerance. */
  readonly boundedTiming: boolean;
  readonly skewWithinTolerance: boolean;
  readonly instances: readonly InstanceRecord[];
  readonly writes: readonly WriteRecord[];
  readonly states: readonly StateRecord[];
  readonly calls: readonly CallRecord[];
  readonly issuerCalls: readonly IssuerCallRecord[];
  readonly storeHistory: readonly MemoryWriteEntry[];
  readonly initialRecord: TokenRecord | undefined;
  readonly finalRecord: TokenRecord | undefined;
  readonly apiStats: ChatApiStats;
  readonly apiCurrent: { readonly generation: number; readonly expired: boolean } | undefined;
  readonly apiLog: readonly ChatLogEntry[];
  readonly delivered: readonly DeliveredMessage[];
  /** Stored-token incidents: an empty table at start, outside invalidations and expiries. */
  readonly incidents: number;
  /** Which fault kinds actually happened (decides whether the strict economy bound applies). */
  readonly faultsSeen: ReadonlySet<string>;
  /** Violations found while running (waiting on one's own lease, runtime assertions, runaway). */
  readonly online: readonly Violation[];
  /** Final machine state of every live instance. */
  readonly finalStates: ReadonlyMap<string, string>;
  readonly timeline: readonly TimelineLine[];
  /** Driver iterations used. */
  readonly steps: number;
}

interface SimInstance {
  readonly record: InstanceRecord;
  readonly slot: number;
  readonly id: string;
  readonly coordinator: TokenCoordinator;
  readonly clock: { offsetMs: number; now(): number };
  frozenUntilMs: number;
  lastSeen: TokenRecord | undefined;
  lastSeenKnown: boolean;
  crashAfterIssueArmed: boolean;
  readonly pendingIssuer: Set<IssuerCallRecord>;
  /** Leases it wrote a release or failure record for. */
  readonly relinquished: Set<string>;
  /** Its last store call failed (a failed read, or a write with an unknown outcome): it may pause before reading back. */
  lastAnswerFailed: boolean;
  /** Slow store calls in flight. */
  stalled: number;
}

/** mulberry32: a small seeded PRNG, good enough for latencies and jitter. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NEVER: Promise<never> = new Promise<never>(() => {});

/** The simulated world of one run. */
export class SimWorld {
  readonly time = new VirtualTime();
  readonly t0Ms: number;
  readonly api: FakeChatApi;
  readonly store = new MemoryTokenStore({ historyLimitEntries: 1_000_000 });
  readonly plan: SimPlan;
  readonly #s: fc.Scheduler;
  readonly #rules: ProtocolRules;
  readonly #protocol: string;
  readonly #random: () => number;
  readonly #machine: ReturnType<typeof createBatonMachine> | undefined;
  readonly #bySlot: (SimInstance | undefined)[] = [];
  readonly #instances: SimInstance[] = [];
  readonly #writes: WriteRecord[] = [];
  readonly #states: StateRecord[] = [];
  readonly #calls: CallRecord[] = [];
  readonly #issuerCalls: IssuerCallRecord[] = [];
  readonly #online: Violation[] = [];
  readonly #timeline: TimelineLine[] = [];
  readonly #faultsSeen = new Set<string>();
  #reads = 0;
  #steps = 0;
  #faultsActive = true;
  #incidents = 0;
  #initialRecord: TokenRecord | undefined;
  #quietAtMs: number | undefined;
  #settleStartMs: number | undefined;
  readonly #settleRounds: SettleRound[] = [];
  #faultPhaseEndMs: number;
  #boundedTiming = true;
  /** Extra faults armed by the model test: the next write(s) lose their response. */
  loseNextWriteResponses = 0;
  /** Extra fault armed by the model test: the next `POST /auth` stalls this long (ignoring the abort). */
  slowNextAuthMs: number | undefined;
  /** Beyond-tolerance runs: keep the skew after the fault phase (no NTP resync); convergence is then not bounded. */
  persistentSkew = false;

  constructor(s: fc.Scheduler, plan: SimPlan, options: { rules?: ProtocolRules; protocol?: string } = {}) {
    this.#s = s;
    this.plan = plan;
    this.#rules = options.rules ?? PROTOCOL_RULES;
    this.#protocol = options.protocol ?? 'real protocol';
    this.#machine = this.#rules === PROTOCOL_RULES ? undefined : createBatonMachine(this.#rules);
    this.#random = seededRandom(plan.latencySeed);
    this.t0Ms = this.time.nowMs;
    this.#faultPhaseEndMs = this.t0Ms + plan.faultPhaseMs;
    this.api = new FakeChatApi({ secret: SIM_SECRET, clock: { now: () => this.time.nowMs }, generateToken: simToken });
  }

  // ---------------------------------------------------------------- setup

  /** Creates the instances, seeds the item and schedules every planned event. */
  start(): void {
    const { plan } = this;
    if (plan.initiallyStored) {
      const issued = this.api.auth(SIM_SECRET);
      if (issued.status !== 200) throw new Error('sim: seeding the first token failed');
      this.store.seed({ schemaVersion: 1, revision: 1, generation: 1, token: issued.token, tokenIssuedAtMs: this.t0Ms - 60_000 });
    } else {
      this.#incidents += 1;
    }
    this.#initialRecord = this.store.snapshot();
    for (let slot = 0; slot < plan.instances; slot += 1) this.#addInstance(slot, plan.offsetsMs[slot] ?? 0);
    this.#line('world', '-', `start: ${plan.instances} instances, ${plan.initiallyStored ? 'token stored' : 'empty table'}`);
    // Planned traffic and faults belong to the fault phase: anything planned after its end is dropped.
    const at = (offsetMs: number, what: () => void): void => {
      this.time.scheduler.setTimeout(() => {
        if (this.#faultsActive) what();
      }, offsetMs);
    };
    for (const send of plan.sends) at(send.atMs, () => this.sendFromSlot(send.slot, 'fault'));
    const { faults } = plan;
    for (const event of faults.outside) at(event.atMs, () => (event.kind === 'invalidate' ? this.invalidate() : this.expire()));
    for (const change of faults.issuerModes) at(change.atMs, () => this.setIssuerMode(change.mode));
    for (const crash of faults.crashes) at(crash.atMs, () => this.crashSlot(crash.slot, 'planned crash'));
    for (const freeze of faults.freezes) at(freeze.atMs, () => this.freezeSlot(freeze.slot, freeze.forMs));
    for (const jump of faults.jumps) at(jump.atMs, () => this.jumpSlot(jump.slot, jump.toOffsetMs));
    for (const slot of faults.crashAfterIssue) {
      const instance = this.#bySlot[slot];
      if (instance !== undefined) instance.crashAfterIssueArmed = true;
    }
  }

  #addInstance(slot: number, offsetMs: number): SimInstance {
    const index = this.#instances.length;
    const id = `i${index}`;
    const nowMs = this.time.nowMs;
    const record: InstanceRecord = { id, slot, joinedAtMs: nowMs, crashedAtMs: undefined, freezes: [], stalls: [], offsets: [{ atMs: nowMs, offsetMs }] };
    const time = this.time;
    const clock = {
      offsetMs,
      now(): number {
        return time.nowMs + this.offsetMs;
      },
    };
    const instance: SimInstance = {
      record,
      slot,
      id,
      clock,
      frozenUntilMs: 0,
      lastSeen: undefined,
      lastSeenKnown: false,
      crashAfterIssueArmed: false,
      pendingIssuer: new Set(),
      relinquished: new Set(),
      lastAnswerFailed: false,
      stalled: 0,
      // Filled just below (the coordinator needs the instance for its ports).
      coordinator: undefined as unknown as TokenCoordinator,
    };
    const { timing } = this.plan;
    const options: TokenCoordinatorOptions = {
      store: this.#storeFor(instance),
      issueToken: ({ signal }) => this.#issue(instance, signal),
      clock,
      scheduler: this.#schedulerFor(instance),
      random: seededRandom(this.plan.latencySeed ^ (0x9e3779b1 * (index + 1))),
      instanceId: id,
      leaseMs: timing.leaseMs,
      maxClockSkewMs: timing.maxClockSkewMs,
      pollMs: timing.pollMs,
      maxAttempts: timing.maxAttempts,
      waitMsMax: timing.callWaitMs,
      onEvent: (event) => this.#onEvent(instance, event),
      logger: {
        debug: () => {},
        info: () => {},
        warn: () => {},
        error: (message: string) => {
          if (message.includes('invariant')) this.#violation('I8', 'behavioral', `${id}: runtime assertion: ${message}`);
        },
      },
    };
    (instance as { coordinator: TokenCoordinator }).coordinator =
      this.#machine === undefined ? createTokenCoordinator(options) : createCoordinatorWithMachine(options, this.#machine);
    this.#instances.push(instance);
    this.#bySlot[slot] = instance;
    return instance;
  }

  // ---------------------------------------------------------------- faults and outside events

  invalidate(): void {
    const { generation } = this.api.invalidate();
    this.#incidents += 1;
    this.#faultsSeen.add('invalidate');
    this.#line('api', '-', `outside POST /auth: T${generation} is now the only valid token`);
  }

  expire(): void {
    const current = this.api.current();
    if (!this.api.expireCurrent()) return;
    this.#incidents += 1;
    this.#faultsSeen.add('expire');
    this.#line('api', '-', `T${current?.generation ?? '?'} expires`);
  }

  setIssuerMode(mode: AuthMode): void {
    if (this.api.authMode === mode) return;
    this.api.authMode = mode;
    if (mode !== 'ok') this.#faultsSeen.add(`issuer-${mode}`);
    this.#line('api', '-', `POST /auth now answers: ${mode}`);
  }

  /** Crashes whatever instance runs in `slot` (and plans its replacement). */
  crashSlot(slot: number, why: string): void {
    const instance = this.#bySlot[slot];
    if (instance !== undefined) this.#crash(instance, why);
  }

  freezeSlot(slot: number, forMs: number): void {
    const instance = this.#bySlot[slot];
    if (instance === undefined || instance.record.crashedAtMs !== undefined || forMs <= 0) return;
    const nowMs = this.time.nowMs;
    const untilMs = Math.max(instance.frozenUntilMs, nowMs + forMs);
    instance.frozenUntilMs = untilMs;
    instance.record.freezes.push({ fromMs: nowMs, toMs: untilMs });
    this.#faultsSeen.add('freeze');
    this.#line(instance.id, instance.coordinator.state(), `freezes for ${forMs} ms`);
  }

  jumpSlot(slot: number, toOffsetMs: number): void {
    const instance = this.#bySlot[slot];
    if (instance === undefined || instance.record.crashedAtMs !== undefined) return;
    const delta = toOffsetMs - instance.clock.offsetMs;
    if (delta === 0) return;
    instance.clock.offsetMs = toOffsetMs;
    instance.record.offsets.push({ atMs: this.time.nowMs, offsetMs: toOffsetMs });
    this.#faultsSeen.add('jump');
    this.#line(instance.id, instance.coordinator.state(), `clock jumps ${delta > 0 ? '+' : ''}${delta} ms (offset ${toOffsetMs})`);
  }

  #crash(instance: SimInstance, why: string): void {
    if (instance.record.crashedAtMs !== undefined) return;
    const nowMs = this.time.nowMs;
    instance.record.crashedAtMs = nowMs;
    this.#faultsSeen.add('crash');
    for (const call of instance.pendingIssuer) if (call.fate === 'pending' || call.fate === 'landed') call.fate = 'abandoned';
    instance.pendingIssuer.clear();
    this.#line(instance.id, instance.coordinator.state(), `CRASH (${why})`);
    const restartMs = this.plan.faults.restartAfterMs;
    if (restartMs !== undefined) {
      this.time.scheduler.setTimeout(() => {
        if (this.#bySlot[instance.slot] !== instance) return;
        const fresh = this.#addInstance(instance.slot, instance.clock.offsetMs);
        this.#line(fresh.id, fresh.coordinator.state(), `cold start replacing ${instance.id}`);
      }, restartMs);
    }
  }

  // ---------------------------------------------------------------- messages

  /** Sends one message through the instance now running in `slot` (nothing if it is dead). */
  sendFromSlot(slot: number, phase: CallRecord['phase'], waitMs = this.plan.timing.callWaitMs): CallRecord | undefined {
    const instance = this.#bySlot[slot];
    if (instance === undefined || instance.record.crashedAtMs !== undefined) return undefined;
    return this.#send(instance, phase, waitMs);
  }

  #send(instance: SimInstance, phase: CallRecord['phase'], waitMs: number, onSettled?: (call: CallRecord) => void): CallRecord {
    const id = this.#calls.length;
    const messageId = `${phase[0]}${id}`;
    const call: CallRecord = {
      id,
      instance: instance.id,
      messageId,
      phase,
      startMs: this.time.nowMs,
      waitMs,
      attempts: [],
      settledAtMs: undefined,
      outcome: undefined,
    };
    this.#calls.push(call);
    const deadlineMs = instance.clock.now() + waitMs;
    this.#line(instance.id, instance.coordinator.state(), `withToken(${messageId})`);
    instance.coordinator
      .withToken(async (token) => {
        const attempt = { startMs: this.time.nowMs, endMs: undefined as number | undefined, status: undefined as number | undefined, generation: tokenGeneration(token) };
        call.attempts.push(attempt);
        await this.#leg(instance, this.plan.timing.chatLegMsMax, `${instance.id} POST /messages ${messageId} →`);
        const result = this.api.postMessage(token, { messageId, room: 'sim', text: `hello ${messageId}` });
        attempt.status = result.status;
        const answer = result.status === 200 ? (result.duplicate ? '200 DUPLICATE' : '200') : result.status === 401 ? `401 ${result.reason}` : String(result.status);
        this.#line(instance.id, instance.coordinator.state(), `POST /messages ${messageId} with T${attempt.generation ?? '?'} → ${answer}`);
        await this.#leg(instance, this.plan.timing.chatLegMsMax, `${instance.id} POST /messages ${messageId} ←`);
        attempt.endMs = this.time.nowMs;
        if (result.status === 200) return result;
        if (result.status === 401) throw new TokenRejectedError(`chat API answered 401 (${result.reason})`);
        throw new Error(`chat API answered ${result.status}`);
      }, { deadlineMs })
      .then(
        () => {
          call.settledAtMs = this.time.nowMs;
          call.outcome = { ok: true };
          this.#line(instance.id, instance.coordinator.state(), `withToken(${messageId}) → delivered`);
          onSettled?.(call);
        },
        (error: unknown) => {
          call.settledAtMs = this.time.nowMs;
          call.outcome = { ok: false, error };
          const code = (error as { code?: unknown }).code;
          const text = error instanceof Error ? error.message.slice(0, 90) : String(error);
          this.#line(instance.id, instance.coordinator.state(), `withToken(${messageId}) → FAILED ${String(code ?? '(no code)')}: ${text}`);
          onSettled?.(call);
        },
      );
    return call;
  }

  // ---------------------------------------------------------------- ports of one instance

  /** One leg of a request: virtual latency, then the scheduler decides when it happens; a frozen process waits; a dead one never continues. */
  async #leg(instance: SimInstance, legMsMax: number, label: string): Promise<void> {
    const latencyMs = Math.floor(this.#random() * (legMsMax + 1));
    if (latencyMs > 0) await this.time.sleep(latencyMs);
    await this.#s.schedule(Promise.resolve(), label);
    await this.#gate(instance);
  }

  /** A slow store call: the instance waits `delayMs` more (in flight until then). */
  async #stall(instance: SimInstance, delayMs: number, what: string): Promise<void> {
    const fromMs = this.time.nowMs;
    this.#faultsSeen.add('slow-store');
    instance.record.stalls.push({ fromMs, toMs: fromMs + delayMs });
    instance.stalled += 1;
    this.#line(instance.id, instance.coordinator.state(), `SLOW STORE: the ${what} is delayed ${delayMs} ms`);
    await this.time.sleep(delayMs);
    instance.stalled -= 1;
  }

  async #gate(instance: SimInstance): Promise<void> {
    for (;;) {
      if (instance.record.crashedAtMs !== undefined) return NEVER;
      const frozenMs = instance.frozenUntilMs - this.time.nowMs;
      if (frozenMs <= 0) return;
      await this.time.sleep(frozenMs);
    }
  }

  #storeFor(instance: SimInstance): TokenStore {
    return {
      describe: () => 'simulated store',
      read: (options) => this.#read(instance, options.consistent),
      write: (request) => this.#write(instance, request),
    };
  }

  async #read(instance: SimInstance, consistent: boolean): Promise<TokenRecord | undefined> {
    const index = this.#reads++;
    const legMs = this.plan.timing.storeLegMsMax;
    await this.#leg(instance, legMs, `${instance.id} read →`);
    const fail = this.#faultsActive && this.plan.faults.failedReads.includes(index);
    let record: TokenRecord | undefined;
    if (fail) {
      this.#faultsSeen.add('failed-read');
      this.#line(instance.id, instance.coordinator.state(), 'read → THROTTLED (fails without effect)');
    } else {
      record = await this.store.read({ consistent });
      this.#line(instance.id, instance.coordinator.state(), `read${consistent ? '' : ' (eventually consistent)'} → ${formatRecord(record)}`);
    }
    const slow = this.#faultsActive ? this.plan.faults.slowReads.find((candidate) => candidate.index === index) : undefined;
    if (slow !== undefined) await this.#stall(instance, slow.delayMs, 'answer of this read');
    await this.#leg(instance, legMs, `${instance.id} read ←`);
    instance.lastAnswerFailed = fail;
    if (fail) throw new Error('simulated throttling: the read failed');
    instance.lastSeen = record;
    instance.lastSeenKnown = true;
    return record;
  }

  async #write(instance: SimInstance, request: WriteRequest): Promise<WriteOutcome> {
    const index = this.#writes.length;
    const record: WriteRecord = {
      index,
      writer: instance.id,
      request,
      sentAtMs: this.time.nowMs,
      seen: instance.lastSeen,
      seenKnown: instance.lastSeenKnown,
      fate: 'pending',
      arrivedAtMs: undefined,
      responseLost: false,
      seq: undefined,
      before: undefined,
      after: undefined,
    };
    this.#writes.push(record);
    // A release or failure record gives the lease up whatever its outcome (the protocol does not read those back).
    if ((request.intent === 'release' || request.intent === 'record-failure') && typeof request.condition.leaseId === 'string') {
      instance.relinquished.add(request.condition.leaseId);
    }
    const legMs = this.plan.timing.storeLegMsMax;
    const label = `${instance.id} write ${request.intent}`;
    const slow = this.#faultsActive ? this.plan.faults.slowWrites.find((candidate) => candidate.index === index) : undefined;
    if (slow !== undefined) await this.#stall(instance, slow.delayMs, `${request.intent} request`);
    await this.#leg(instance, legMs, `${label} →`);
    record.arrivedAtMs = this.time.nowMs;
    const faults = this.plan.faults;
    if (this.#faultsActive && faults.lostWriteRequests.includes(index)) {
      record.fate = 'lost-request';
      this.#faultsSeen.add('lost-write-request');
      this.#line(instance.id, instance.coordinator.state(), `write ${describeWrite(request)} → REQUEST LOST (not applied)`);
      await this.#leg(instance, legMs, `${label} ←`);
      instance.lastAnswerFailed = true;
      throw new Error('simulated network error: the write never reached the store');
    }
    const lengthBefore = this.store.history().length;
    const pending = this.store.write(request);
    const history = this.store.history();
    const entry = history.length > lengthBefore ? history[history.length - 1] : undefined;
    if (entry !== undefined) {
      record.fate = 'applied';
      record.seq = entry.seq;
      record.before = entry.before;
      record.after = entry.after;
    } else {
      record.fate = 'refused';
    }
    const outcome = await pending;
    let lose = this.#faultsActive && faults.lostWriteResponses.includes(index);
    if (this.loseNextWriteResponses > 0) {
      this.loseNextWriteResponses -= 1;
      lose = true;
    }
    record.responseLost = lose;
    if (lose) this.#faultsSeen.add('lost-write-response');
    this.#line(
      instance.id,
      instance.coordinator.state(),
      `write ${describeWrite(request)} → ${outcome.applied ? 'applied' : 'condition failed'}${lose ? ', RESPONSE LOST' : ''}`,
    );
    await this.#leg(instance, legMs, `${label} ←`);
    instance.lastAnswerFailed = lose;
    if (lose) throw new Error('simulated timeout: the write was applied (or not) but its response was lost');
    instance.lastSeen = outcome.applied ? outcome.record : outcome.current;
    instance.lastSeenKnown = true;
    return outcome;
  }

  async #issue(instance: SimInstance, signal: AbortSignal): Promise<IssuedToken> {
    const index = this.#issuerCalls.length;
    const { timing, faults } = this.plan;
    let slow = this.#faultsActive ? faults.slowAuth.find((candidate) => candidate.call === index) : undefined;
    if (this.slowNextAuthMs !== undefined) {
      slow = { call: index, latencyMs: this.slowNextAuthMs, landingFraction: this.#random() };
      this.slowNextAuthMs = undefined;
    }
    const totalMs = slow === undefined ? timing.authMsMin + Math.floor(this.#random() * (timing.authMsMax - timing.authMsMin + 1)) : slow.latencyMs;
    const landMs = slow === undefined ? Math.floor(totalMs / 2) : Math.floor(totalMs * slow.landingFraction);
    const call: IssuerCallRecord = {
      index,
      instance: instance.id,
      sentAtMs: this.time.nowMs,
      slow: slow !== undefined,
      fate: 'pending',
      landedAtMs: undefined,
      result: undefined,
      generation: undefined,
      deliveredAtMs: undefined,
    };
    this.#issuerCalls.push(call);
    instance.pendingIssuer.add(call);
    if (slow !== undefined) this.#faultsSeen.add('slow-auth');
    this.#line(instance.id, instance.coordinator.state(), `POST /auth #${index} sent${slow === undefined ? '' : ` (SLOW: ${totalMs} ms, lands after ${landMs} ms, ignores abort)`}`);
    const finish = (fate: IssuerFate): void => {
      if (call.fate !== 'abandoned') call.fate = fate;
      instance.pendingIssuer.delete(call);
    };
    try {
      // A healthy client aborts when the coordinator says so; a stalled one does not.
      await this.time.sleep(landMs, slow === undefined ? signal : undefined);
    } catch (error) {
      finish('aborted');
      this.#line(instance.id, instance.coordinator.state(), `POST /auth #${index} aborted before reaching the server`);
      throw error;
    }
    await this.#s.schedule(Promise.resolve(), `${instance.id} POST /auth #${index} →`);
    await this.#gate(instance);
    let result: AuthResult;
    if (this.#faultsActive && faults.auth5xx.includes(index)) {
      this.#faultsSeen.add('auth-5xx');
      result = { status: 500, reason: 'injected 500' };
    } else {
      result = this.api.auth(SIM_SECRET);
    }
    call.landedAtMs = this.time.nowMs;
    call.fate = 'landed';
    let lostAnswer = result.status === 'dropped';
    if (result.status === 200 && this.#faultsActive && faults.lostAuthAnswers.includes(index)) lostAnswer = true;
    if (lostAnswer) this.#faultsSeen.add('lost-auth-answer');
    call.result = result.status === 200 ? (lostAnswer ? 'lost-answer' : 'issued') : result.status === 'dropped' ? 'lost-answer' : result.status === 401 ? 'refused' : 'error';
    call.generation = result.status === 200 || result.status === 'dropped' ? result.generation : undefined;
    const shown =
      call.generation !== undefined ? `issued T${call.generation}${lostAnswer ? ' (ANSWER WILL BE LOST)' : ''}` : result.status === 401 ? 'REFUSED 401' : `ERROR ${String(result.status)}`;
    this.#line(instance.id, instance.coordinator.state(), `POST /auth #${index} reaches the server: ${shown}`);
    if (call.generation !== undefined && this.#faultsActive && instance.crashAfterIssueArmed) {
      instance.crashAfterIssueArmed = false;
      this.#crash(instance, 'between POST /auth and publish');
      return NEVER;
    }
    try {
      await this.time.sleep(totalMs - landMs, slow === undefined ? signal : undefined);
    } catch (error) {
      finish('aborted');
      this.#line(instance.id, instance.coordinator.state(), `POST /auth #${index} aborted while waiting for the answer${call.generation === undefined ? '' : ` (T${call.generation} is lost)`}`);
      throw error;
    }
    await this.#s.schedule(Promise.resolve(), `${instance.id} POST /auth #${index} ←`);
    await this.#gate(instance);
    call.deliveredAtMs = this.time.nowMs;
    finish('delivered');
    if (lostAnswer) throw new Error('simulated connection reset: the POST /auth answer was lost');
    if (result.status === 200) return { token: result.token };
    if (result.status === 401) throw new IssuerRefusedError('POST /auth refused the secret', { status: 401 });
    throw new Error(`POST /auth answered ${String(result.status)}`);
  }

  #schedulerFor(instance: SimInstance): Scheduler {
    const virtual = this.time.scheduler;
    return {
      setTimeout: (callback, delayMs) => {
        const handle: { id: unknown } = { id: undefined };
        const fire = (): void => {
          if (instance.record.crashedAtMs !== undefined) return;
          const frozenMs = instance.frozenUntilMs - this.time.nowMs;
          if (frozenMs > 0) {
            handle.id = virtual.setTimeout(fire, frozenMs);
            return;
          }
          callback();
        };
        handle.id = virtual.setTimeout(fire, delayMs);
        return handle;
      },
      clearTimeout: (handle) => virtual.clearTimeout((handle as { id: unknown }).id),
    };
  }

  #onEvent(instance: SimInstance, event: BatonEvent): void {
    const nowMs = this.time.nowMs;
    switch (event.type) {
      case 'state': {
        this.#states.push({ instance: instance.id, atMs: nowMs, from: event.from, to: event.to, afterFailedCall: instance.lastAnswerFailed });
        if (event.to === 'waiting') {
          // Waiting on a lease it took or renewed (and did not give up): nobody works on it (S7).
          const leaseId = this.store.snapshot()?.leaseId;
          // (After a failed store call the holder pauses before reading back: that wait is it still working on it.)
          if (leaseId !== undefined && leaseId.startsWith(`${instance.id}.`) && !instance.relinquished.has(leaseId) && !instance.lastAnswerFailed) {
            this.#violation('I5', 'behavioral', `${instance.id} waits for lease ${leaseId}, which it holds itself: nobody works on it (an orphaned lease)`);
          }
        }
        return;
      }
      case 'takeover':
        this.#line(instance.id, instance.coordinator.state(), `took over the stale lease of ${event.staleLeaseHolder ?? '?'}`);
        return;
      case 'fenced':
        this.#line(instance.id, instance.coordinator.state(), 'fenced out: discards its token');
        return;
      case 'alarm':
        this.#line(instance.id, instance.coordinator.state(), `ALARM ${event.code}`);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- driving

  /**
   * Runs the world: let every released scheduled task finish (`waitIdle`), then fire the next
   * timer instant; until `done()` holds, nothing is left before `untilMs`, or the step budget runs out.
   */
  async drive(options: { untilMs: number; done?: () => boolean }): Promise<void> {
    for (;;) {
      this.#steps += 1;
      if (this.#steps > DRIVER_STEPS_MAX) {
        if (!this.#online.some((violation) => violation.message.startsWith('runaway'))) {
          this.#violation('I4', 'behavioral', `runaway: the run took more than ${DRIVER_STEPS_MAX} driver steps (an unbounded loop?)`);
        }
        return;
      }
      await this.#s.waitIdle();
      await flushMicrotasks();
      if (this.#s.count() > 0) continue;
      if (options.done?.() === true) return;
      if (this.time.fireNextInstant(options.untilMs) === 0) return;
      await flushMicrotasks();
    }
  }

  /**
   * Moves virtual time forward by `ms`, firing due timers instant by instant and letting their
   * continuations run before the clock moves on, but without releasing scheduled tasks (model test:
   * the scheduler releases them between commands).
   */
  async advance(ms: number): Promise<void> {
    const untilMs = this.time.nowMs + ms;
    while (this.time.fireNextInstant(untilMs) > 0) await flushMicrotasks();
    this.time.nowMs = Math.max(this.time.nowMs, untilMs);
  }

  /** Stops every fault: the issuer answers again, nothing more is lost, frozen or crashed. */
  endFaults(): void {
    if (!this.#faultsActive) return;
    this.#faultsActive = false;
    this.#faultPhaseEndMs = this.time.nowMs;
    this.loseNextWriteResponses = 0;
    this.slowNextAuthMs = undefined;
    for (const instance of this.#instances) instance.crashAfterIssueArmed = false;
    this.setIssuerMode('ok');
    if (!this.plan.skewWithinTolerance && !this.persistentSkew) {
      // Clock faults stop too: NTP brings every clock back within tolerance.
      for (const instance of this.#live()) this.jumpSlot(instance.slot, 0);
    }
    this.#line('world', '-', 'faults stop');
  }

  /**
   * Nothing of the fault phase is still going on: no `POST /auth` or write in flight, nobody frozen
   * or stalled, and every live instance has finished its episode (`idle` or `using`).
   */
  #quiet(): boolean {
    const nowMs = this.time.nowMs;
    const crashed = new Set(this.#instances.filter((instance) => instance.record.crashedAtMs !== undefined).map((instance) => instance.id));
    return (
      this.#live().every((instance) => {
        const state = instance.coordinator.state();
        return instance.pendingIssuer.size === 0 && instance.frozenUntilMs <= nowMs && instance.stalled === 0 && (state === 'idle' || state === 'using');
      }) && this.#writes.every((write) => write.fate !== 'pending' || crashed.has(write.writer))
    );
  }

  /** Lets a recorded back-off run out on every live clock (no `POST /auth` is allowed before). */
  async #waitOutBackoff(): Promise<void> {
    const backoffUntilMs = this.store.snapshot()?.backoffUntilMs;
    if (backoffUntilMs === undefined) return;
    const offsets = this.#live().map((instance) => instance.clock.offsetMs);
    const readyAtMs = backoffUntilMs - Math.min(0, ...offsets) + 1;
    if (readyAtMs <= this.time.nowMs) return;
    await this.drive({ untilMs: readyAtMs });
    this.time.nowMs = Math.max(this.time.nowMs, readyAtMs);
  }

  /** Declares latencies unbounded (the model test advances time in arbitrary steps): timing bounds do not apply. */
  unboundTiming(): void {
    this.#boundedTiming = false;
    // Any request may then outlast a lease: take-overs are expected, the strict economy bound does not apply.
    this.#faultsSeen.add('unbounded-latency');
  }

  /** Calls made so far (model test). */
  get callCount(): number {
    return this.#calls.length;
  }

  /**
   * After the fault phase: wait until quiet (no `POST /auth` in flight, nobody frozen), wait out a
   * recorded issuer back-off, then every live instance sends one message; drain.
   */
  async settle(): Promise<void> {
    this.endFaults();
    const { leaseMs } = this.plan.timing;
    const quietLimitMs = this.time.nowMs + QUIET_LIMIT_LEASES * leaseMs;
    for (let round = 0; round < 100 && !this.#quiet(); round += 1) {
      await this.drive({ untilMs: quietLimitMs, done: () => this.#quiet() });
      // Nothing left to run but a frozen process: let the clock reach its thaw.
      const thawMs = Math.max(...this.#instances.map((instance) => instance.frozenUntilMs));
      if (!this.#quiet() && this.time.nextTimerAtMs === undefined && thawMs > this.time.nowMs) this.time.nowMs = Math.min(thawMs, quietLimitMs);
      if (this.time.nowMs >= quietLimitMs) break;
    }
    this.#quietAtMs = this.time.nowMs;
    await this.#waitOutBackoff();
    if (this.#live().length === 0) {
      // Every instance died: the platform starts a new one for the next request.
      const fresh = this.#addInstance(0, 0);
      this.#line(fresh.id, fresh.coordinator.state(), 'cold start (no instance alive)');
    }
    this.#settleStartMs = this.time.nowMs;
    const waitMs = SETTLE_LIMIT_LEASES * leaseMs;
    for (let round = 1; round <= SETTLE_ROUNDS; round += 1) {
      const startMs = this.time.nowMs;
      const authBefore = this.#issuerCalls.length;
      this.#line('world', '-', `settle round ${round}: every live instance sends one message`);
      const calls = this.#live().map((instance) => this.#send(instance, 'settle', waitMs));
      await this.drive({ untilMs: startMs + waitMs + leaseMs, done: () => calls.every((call) => call.settledAtMs !== undefined) });
      // Let background work finish (a refresh started by the round), bounded.
      await this.drive({ untilMs: this.time.nowMs + 4 * leaseMs });
      const stored = this.store.snapshot();
      const current = this.api.current();
      const stable =
        this.#issuerCalls.length === authBefore &&
        current !== undefined &&
        !current.expired &&
        tokenGeneration(stored?.token) === current.generation &&
        stored?.leaseId === undefined &&
        calls.every((call) => call.outcome?.ok === true && call.attempts.length === 1 && call.attempts[0]?.generation === current.generation);
      this.#settleRounds.push({ round, startMs, endMs: this.time.nowMs, callIds: calls.map((call) => call.id), stable });
      this.#line('world', '-', `settle round ${round}: ${stable ? 'STABLE: every live instance used the accepted token at once, no POST /auth' : 'not stable yet'}`);
      if (stable) break;
    }
  }

  /** The whole run of a {@link SimPlan}: start, fault phase, settle. */
  async run(): Promise<SimHistory> {
    this.start();
    const faultPhaseEndMs = this.t0Ms + this.plan.faultPhaseMs;
    await this.drive({ untilMs: faultPhaseEndMs });
    this.time.nowMs = Math.max(this.time.nowMs, faultPhaseEndMs);
    await this.settle();
    return this.history();
  }

  #live(): SimInstance[] {
    return this.#bySlot.filter((instance): instance is SimInstance => instance !== undefined && instance.record.crashedAtMs === undefined);
  }

  /** Live instance count (model test). */
  liveSlots(): number[] {
    return this.#live().map((instance) => instance.slot);
  }

  // ---------------------------------------------------------------- recording

  #violation(invariant: string, kind: Violation['kind'], message: string): void {
    this.#online.push({ invariant, kind, atMs: this.time.nowMs, message });
    this.#line('CHECK', '-', `VIOLATION ${invariant}: ${message}`);
  }

  #line(who: string, state: string, action: string): void {
    let item: string;
    try {
      item = formatRecord(this.store.snapshot());
    } catch {
      item = '(unreadable)';
    }
    this.#timeline.push({ atMs: this.time.nowMs, who, state, action, item });
  }

  /** Notes a line from a test (model commands). */
  note(who: string, action: string): void {
    this.#line(who, '-', action);
  }

  history(): SimHistory {
    const finalStates = new Map<string, string>();
    for (const instance of this.#live()) finalStates.set(instance.id, instance.coordinator.state());
    const current = this.api.current();
    return {
      protocol: this.#protocol,
      timing: this.plan.timing,
      t0Ms: this.t0Ms,
      endMs: this.time.nowMs,
      faultPhaseEndMs: this.#faultPhaseEndMs,
      quietAtMs: this.#quietAtMs,
      settleStartMs: this.#settleStartMs,
      settleRounds: this.#settleRounds,
      boundedTiming: this.#boundedTiming,
      skewWithinTolerance: this.plan.skewWithinTolerance,
      instances: this.#instances.map((instance) => instance.record),
      writes: this.#writes,
      states: this.#states,
      calls: this.#calls,
      issuerCalls: this.#issuerCalls,
      storeHistory: this.store.history(),
      initialRecord: this.#initialRecord,
      finalRecord: this.store.snapshot(),
      apiStats: this.api.stats(),
      apiCurrent: current === undefined ? undefined : { generation: current.generation, expired: current.expired },
      apiLog: this.api.authLog.entries,
      delivered: this.api.delivered(),
      incidents: this.#incidents,
      faultsSeen: new Set(this.#faultsSeen),
      online: [...this.#online],
      finalStates,
      timeline: this.#timeline,
      steps: this.#steps,
    };
  }
}

// -------------------------------------------------------------------- formatting

/** `g4 T7 r12 lease=i3#2 backoff` — the item in one short string. */
export function formatRecord(record: TokenRecord | undefined): string {
  if (record === undefined) return '(no item)';
  const parts = [`g${record.generation}`, record.token === undefined ? 'no-token' : `T${tokenGeneration(record.token) ?? '?'}`, `r${record.revision}`];
  parts.push(record.leaseId === undefined ? 'no-lease' : `lease=${record.leaseId}`);
  if (record.backoffUntilMs !== undefined) parts.push(`backoff×${record.failureCount ?? '?'}`);
  return parts.join(' ');
}

/** `claim[gen=4,no-lease]` — a write and its condition. */
export function describeWrite(request: WriteRequest): string {
  const { condition } = request;
  const parts: string[] = [];
  if (!condition.exists) parts.push('absent');
  if (condition.generation !== undefined) parts.push(`gen=${condition.generation}`);
  if (condition.leaseId === null) parts.push('no-lease');
  if (typeof condition.leaseId === 'string') parts.push(`lease=${condition.leaseId}`);
  if (condition.revision !== undefined) parts.push(`rev=${condition.revision}`);
  const set = request.set;
  const extra = request.intent === 'publish' && set.token !== undefined ? ` T${tokenGeneration(set.token) ?? '?'}` : set.leaseId !== undefined ? ` ${set.leaseId}` : '';
  return `${request.intent}${extra} if[${parts.length === 0 ? 'UNCONDITIONAL' : parts.join(',')}]`;
}

/** Timeline lines printed with a failure (`SIM_TIMELINE_LINES` overrides; the middle is elided). */
export const TIMELINE_LINES_MAX = Number(process.env['SIM_TIMELINE_LINES'] ?? 400);

/** The timeline as text, one line per step: time since start, instance, its state, the action, the item after it. */
export function formatTimeline(history: Pick<SimHistory, 't0Ms' | 'timeline'>, options: { maxLines?: number } = {}): string {
  const maxLines = options.maxLines ?? TIMELINE_LINES_MAX;
  const lines = history.timeline.map((line) => {
    const t = `+${String(line.atMs - history.t0Ms).padStart(6)}ms`;
    return `${t} ${line.who.padEnd(5)} ${line.state.padEnd(17)} ${line.action.padEnd(72)} | ${line.item}`;
  });
  if (lines.length <= maxLines) return lines.join('\n');
  const head = Math.floor(maxLines / 4);
  const tail = maxLines - head;
  return [...lines.slice(0, head), `  … ${lines.length - maxLines} lines omitted …`, ...lines.slice(-tail)].join('\n');
}
