/**
 * The explorer's world: the one item, the chat API, and N instances, each a real machine
 * snapshot plus what its runtime holds (requests in flight, a poll timer, the caller).
 * Worlds are immutable: every step builds a new one and shares what it did not change.
 */
import { initialTransition } from 'xstate';
import type { BatonMachine } from '../../src/machine/machine.js';
import type { TokenRecord, WriteRequest } from '../../src/machine/record.js';
import type { MachineContext } from '../../src/machine/types.js';
import { JUMP_MS, protocolFor, START_MS } from './options.js';
import type { ExplorerConstraints, StartKind } from './options.js';

/** A snapshot of the protocol machine, as xstate's pure `transition` returns it. */
export type Snapshot = ReturnType<typeof initialTransition<BatonMachine>>[0];

/** What the writer knew when it sent a write (for the checks made when the write arrives). */
export interface WriterView {
  readonly instance: number;
  /** The lease the writer relies on (`pendingLease ?? lease`), if any. */
  readonly leaseId: string | undefined;
  /** Generation of the item the writer decided on. */
  readonly decidedGeneration: number;
  /** The token the writer's episode must replace. */
  readonly replaceToken: string | undefined;
}

/** One store or issuer request in flight: sent, then arrived (acted on), then answered. */
export type InFlight =
  | { readonly kind: 'read'; readonly requestId: number; readonly consistent: boolean; readonly arrived: false }
  | { readonly kind: 'read'; readonly requestId: number; readonly consistent: boolean; readonly arrived: true; readonly record: TokenRecord | undefined }
  | { readonly kind: 'write'; readonly requestId: number; readonly heartbeat: boolean; readonly request: WriteRequest; readonly writer: WriterView; readonly arrived: false }
  | {
      readonly kind: 'write';
      /** The machine's `requestId`, or its `heartbeatId` for a heartbeat. */
      readonly requestId: number;
      /** A heartbeat (answered with `HEARTBEAT_*` events). */
      readonly heartbeat: boolean;
      readonly request: WriteRequest;
      readonly writer: WriterView;
      readonly arrived: true;
      readonly applied: boolean;
      /** The item after the write (applied) or as it stood (refused). */
      readonly record: TokenRecord | undefined;
    }
  | { readonly kind: 'issuer'; readonly requestId: number; readonly arrived: false }
  | { readonly kind: 'issuer'; readonly requestId: number; readonly arrived: true; readonly token: string };

/** A request whose sender will never hear of it again (it crashed, or gave up on an issuer call). */
export type Orphan = { readonly kind: 'write'; readonly request: WriteRequest; readonly writer: WriterView } | { readonly kind: 'issuer'; readonly from: number };

/** The instance's poll timer. */
export interface Timer {
  readonly timerId: number;
  /** Epoch (number of time jumps) when it was armed. */
  readonly armedEpoch: number;
  /** The instance's `rejectedToken` when it was armed. */
  readonly armedRejected: string | undefined;
  /** The item's revision when it was armed. */
  readonly armedItemRevision: number;
}

/** The one `withToken` call an instance is running. */
export type Caller =
  | { readonly phase: 'waiting'; readonly attempt: number; readonly rejectedToken: string | undefined }
  | { readonly phase: 'holding'; readonly attempt: number; readonly token: string; readonly generation: number };

/** One instance: its machine and its runtime's state. */
export interface Instance {
  readonly id: string;
  readonly crashed: boolean;
  readonly snapshot: Snapshot;
  readonly inFlight: readonly InFlight[];
  readonly timer: Timer | undefined;
  /** Calls started so far (at most `calls`). */
  readonly callsStarted: number;
  readonly caller: Caller | undefined;
}

/** Faults still allowed in this run. */
export interface Budget {
  readonly invalidations: number;
  readonly crashes: number;
  readonly lostResponses: number;
  readonly unknownOutcomes: number;
  /** `POST /auth` calls given up before they landed (they may still land later). */
  readonly orphanedIssues: number;
  /** Time jumps while a live instance works under its lease (a frozen holder, an issuer slower than the lease). */
  readonly freezes: number;
  /** `POST /auth` refusals of the credentials (answered 401, nothing minted). */
  readonly refusals: number;
  /** Faults of any kind still allowed (crash, lost answer, unknown outcome, freeze, refusal). */
  readonly faults: number;
  /** Extra calls still allowed once the fleet is quiet but unsettled. */
  readonly probes: number;
}

/** Counters kept for reports; never part of a state's identity. */
export interface Tally {
  readonly authCalls: number;
  /** Take-over writes applied to the item. */
  readonly takeovers: number;
  /** `reportTakeover` effects (the runtime's `takeovers` stat). */
  readonly takeoversReported: number;
  readonly alarms: number;
  readonly callsOk: number;
  readonly callsFailed: number;
}

/** The whole world. */
export interface World {
  readonly start: StartKind;
  /** Time jumps so far; the clock reads `START_MS + epoch × JUMP_MS`. */
  readonly epoch: number;
  readonly item: TokenRecord | undefined;
  /** The item one write earlier (only tracked when reads may be eventually consistent). */
  readonly previous: TokenRecord | undefined;
  /** Index of the token the chat API accepts (`T<n>`; 0: none). */
  readonly validToken: number;
  /** Tokens minted so far (by `POST /auth` or from outside). */
  readonly minted: number;
  /**
   * `POST /auth` calls still allowed by I7: incidents + unknown outcomes + takeover allowance − calls.
   * Negative means I7 is broken.
   */
  readonly economySlack: number;
  readonly budget: Budget;
  readonly orphans: readonly Orphan[];
  readonly instances: readonly Instance[];
  readonly tally: Tally;
}

/** Every machine's nonce: instances never restart in the model, so instance ids alone keep lease ids unique. */
export const LEASE_NONCE = '0';

/** The instance id inside a lease id (`<instanceId>.<nonce>#<counter>`). */
export function leaseOwner(leaseId: string): string {
  const end = leaseId.search(/[.#]/);
  return end < 0 ? leaseId : leaseId.slice(0, end);
}

/** Instance ids, in instance order. */
export const INSTANCE_IDS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;

/** The abstract token minted `n`-th (tokens are named in issue order). */
export function tokenName(n: number): string {
  return `T${n}`;
}

/** Issue order of a token name (0 when it is not one of ours). */
export function tokenIndex(token: string | undefined): number {
  if (token === undefined || !token.startsWith('T')) return 0;
  const n = Number(token.slice(1));
  return Number.isInteger(n) ? n : 0;
}

/** The model's clock. */
export function nowOf(world: Pick<World, 'epoch'>): number {
  return START_MS + world.epoch * JUMP_MS;
}

/** Epoch a time value belongs to. */
export function epochOf(timeMs: number): number {
  return Math.floor((timeMs - START_MS) / JUMP_MS);
}

/** The machine state name of an instance. */
export function stateOf(instance: Instance): string {
  return String(instance.snapshot.value);
}

/** The initial worlds, one per start kind. */
export function initialWorlds(options: ExplorerConstraints, machine: BatonMachine): World[] {
  return options.starts.map((start) => initialWorld(start, options, machine));
}

function initialWorld(start: StartKind, options: ExplorerConstraints, machine: BatonMachine): World {
  const instances: Instance[] = [];
  for (let i = 0; i < options.instances; i += 1) {
    const id = INSTANCE_IDS[i];
    if (id === undefined) throw new Error(`at most ${INSTANCE_IDS.length} instances`);
    const [snapshot] = initialTransition(machine, { config: protocolFor(options), instanceId: id, nonce: LEASE_NONCE, nowMs: START_MS });
    instances.push({ id, crashed: false, snapshot, inFlight: [], timer: undefined, callsStarted: 0, caller: undefined });
  }
  const published: TokenRecord = { schemaVersion: 1, revision: 1, generation: 1, token: tokenName(1), tokenIssuedAtMs: START_MS - JUMP_MS };
  return {
    start,
    epoch: 0,
    item: start === 'published' ? published : undefined,
    previous: undefined,
    validToken: start === 'published' ? 1 : 0,
    minted: start === 'published' ? 1 : 0,
    // An empty table is an incident: the fleet needs its first token.
    economySlack: start === 'published' ? 0 : 1,
    budget: {
      // Every run has one incident to recover from: the empty table, or an outside invalidation.
      invalidations: start === 'empty' ? Math.max(0, options.invalidations - 1) : options.invalidations,
      crashes: options.crashes,
      lostResponses: options.lostResponses,
      unknownOutcomes: options.unknownOutcomes,
      orphanedIssues: options.orphanedIssues,
      freezes: options.freezes,
      refusals: options.refusals,
      faults: options.maxFaults,
      probes: options.probes,
    },
    orphans: [],
    instances,
    tally: { authCalls: 0, takeovers: 0, takeoversReported: 0, alarms: 0, callsOk: 0, callsFailed: 0 },
  };
}

/** Replaces instance `index`. */
export function withInstance(world: World, index: number, instance: Instance): World {
  const instances = world.instances.slice();
  instances[index] = instance;
  return { ...world, instances };
}

/** The context of an instance's machine. */
export function contextOf(instance: Instance): MachineContext {
  return instance.snapshot.context;
}

/**
 * Whether an armed timer may fire. A holder's heartbeat timer (in `refreshing`) may fire at any
 * moment, up to `heartbeatsAllowed` times per issuer call. A poll timer: A poll decides on (context, item, time); while an
 * instance waits its context does not change, so a poll can only learn something when the
 * time jumped, the item changed since the timer was armed, or the instance's last view of the
 * item was already not the item then (a pause before reading back an ambiguous write, a stale
 * eventual read). Real polls are at least 75 ms apart and `roundsMax` covers two leases of
 * polling, so spending rounds on polls that cannot learn anything is a schedule the real
 * system cannot produce.
 */
export function timerEnabled(world: World, instance: Instance, heartbeatsAllowed: number): boolean {
  const timer = instance.timer;
  if (timer === undefined) return false;
  const context = instance.snapshot.context;
  // A holder's heartbeat timer (once per issuer call in the model's budget; never while a heartbeat
  // is in flight). Within the epoch its lease was written in, a heartbeat only bumps the revision
  // (no takeover can race it before time jumps), so it fires once the holder is late: time jumped
  // while it waited on the issuer (a freeze), and its heartbeat races the takeover.
  if (String(instance.snapshot.value) === 'refreshing') {
    const lease = context.lease;
    const late = lease !== undefined && epochOf(lease.startedAtMs) < world.epoch;
    return late && timer.timerId === context.timerId && context.heartbeatLease === undefined && context.heartbeats < heartbeatsAllowed;
  }
  return (
    timer.timerId !== context.timerId ||
    timer.armedEpoch < world.epoch ||
    (world.item?.revision ?? 0) !== timer.armedItemRevision ||
    (context.record?.revision ?? 0) !== timer.armedItemRevision ||
    context.rejectedToken !== timer.armedRejected
  );
}
