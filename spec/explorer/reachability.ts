/**
 * Proves that every state and every transition of the protocol machine can be taken, with
 * `xstate/graph`: `getShortestPaths` / `getAdjacencyMap` walk the machine from its initial
 * state with a *state-dependent* menu of events (the guards depend on data — request ids, the
 * item, the lease — so a fixed event list would stop at the first guard), and every edge found
 * is replayed through an inspected actor to learn which transition definitions it took
 * (including the eventless `always` ones).
 *
 * The world model of the explorer drives the machine only with events a real runtime can send
 * in the modelled world; this module complements it by reaching the corners the world model
 * leaves out (store errors, refused credentials, proactive refreshes of expiring tokens,
 * callers giving up, store answers slower than the lease). See `test/spec/reachability.test.ts`.
 */
import { createActor } from 'xstate';
import type { InspectionEvent } from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { BUDGET_RENEWALS_MAX } from '../../src/machine/config.js';
import type { ProtocolConfig } from '../../src/machine/config.js';
import { STATES } from '../../src/machine/machine.js';
import type { BatonMachine } from '../../src/machine/machine.js';
import { applyWrite, conditionHolds, ISSUER_REFUSED_CODE, ISSUER_UNAVAILABLE_CODE } from '../../src/machine/record.js';
import type { TokenRecord } from '../../src/machine/record.js';
import type { MachineContext, MachineEvent, MachineInput } from '../../src/machine/types.js';
import type { Snapshot } from './world.js';

/**
 * Protocol timing for the walk: short rounds so the round limit is reached (6: a third ambiguous
 * takeover in one episode needs a first sighting, a wait and two read-backs before it), an issuer
 * that may give expiring tokens.
 */
export const GRAPH_PROTOCOL: ProtocolConfig = Object.freeze({
  leaseMs: 1_000,
  maxClockSkewMs: 100,
  pollMs: 100,
  proactiveLeadMs: 500,
  freshTokenMs: 50,
  issuerAttemptsMax: 2,
  roundsMax: 6,
  backoffBaseMs: 100,
  backoffMaxMs: 100,
});

/** The walk's start. */
export const GRAPH_INPUT: MachineInput = Object.freeze({ config: GRAPH_PROTOCOL, instanceId: 'a', nonce: '0', nowMs: 1_000_000 });

/** One transition definition of the machine, named `<source>:<event or always>#<index>` (`(root)` for machine-level `on`). */
export interface TransitionInfo {
  readonly id: string;
  readonly source: string;
  readonly event: string;
  readonly targets: readonly string[];
}

type Definition = object;

/** Every transition definition of the machine, by definition object. */
export function transitionInventory(machine: BatonMachine): Map<Definition, TransitionInfo> {
  const out = new Map<Definition, TransitionInfo>();
  const add = (source: string, event: string, defs: readonly Definition[] | undefined): void => {
    (defs ?? []).forEach((def, index) => {
      const targets = ((def as { target?: readonly { key: string }[] }).target ?? []).map((node) => node.key);
      out.set(def, { id: `${source}:${event}#${index}`, source, event, targets });
    });
  };
  for (const [event, defs] of machine.root.transitions) add('(root)', event, defs);
  for (const [name, node] of Object.entries(machine.root.states)) {
    for (const [event, defs] of node.transitions) add(name, event, defs);
    add(name, 'always', node.always);
  }
  return out;
}

const OTHER_LEASE = 'z.0#1';

/** Items worth showing the machine in its current context. */
function recordsFor(context: MachineContext, nowMs: number): (TokenRecord | undefined)[] {
  const { leaseMs, maxClockSkewMs } = context.config;
  const base = { schemaVersion: 1 as const, revision: (context.record?.revision ?? 0) + 1, generation: (context.record?.generation ?? 0) + 1 };
  const mine = context.pendingLease ?? context.lease;
  const otherLease = { leaseId: OTHER_LEASE, leaseHolder: 'z', leaseAcquiredAtMs: nowMs, leaseExpiresAtMs: nowMs + leaseMs };
  const records: (TokenRecord | undefined)[] = [
    undefined,
    { ...base, token: 'T1' },
    { ...base, token: 'T1', ...otherLease },
    { ...base, token: 'T1', ...otherLease, leaseExpiresAtMs: nowMs - leaseMs - maxClockSkewMs - 1 },
    { ...base, token: 'T1', failureCode: ISSUER_REFUSED_CODE, failureStatus: 401, failureCount: 1, failureAtMs: nowMs, backoffUntilMs: nowMs + 10_000 },
    { ...base, token: 'T1', failureCode: ISSUER_UNAVAILABLE_CODE, failureCount: 1, failureAtMs: nowMs, backoffUntilMs: nowMs + 10_000 },
    { ...base, token: 'T1', invalidatedGeneration: base.generation },
    { ...base, token: 'T7', tokenExpiresAtMs: nowMs + 100 },
  ];
  if (context.cached !== undefined) {
    records.push({ ...base, token: context.cached.value });
    // Someone is refreshing the token we still hold (what a proactive refresh may find).
    records.push({ ...base, token: context.cached.value, ...otherLease });
  }
  if (mine !== undefined) records.push({ ...base, token: 'T1', leaseId: mine.id, leaseHolder: 'a', leaseAcquiredAtMs: mine.startedAtMs, leaseExpiresAtMs: mine.expiresAtMs });
  if (context.issued !== undefined) records.push({ ...base, token: context.issued.token });
  return records;
}

/**
 * The events a runtime could send to a machine in this snapshot (plus a few it never would,
 * which the machine must ignore). Request and timer ids are the current ones.
 */
export function eventsFor(snapshot: Snapshot): MachineEvent[] {
  const context = snapshot.context;
  const nowMs = context.nowMs + 1;
  const requestId = context.requestId;
  const token = context.cached?.value ?? 'T1';
  const state = String(snapshot.value);
  const resting = state === STATES.idle || state === STATES.using;
  const events: MachineEvent[] = [
    { type: 'TOKEN_NEEDED', nowMs },
    { type: 'TOKEN_REJECTED', token, generation: context.cached?.generation ?? 1, nowMs },
    { type: 'TOKEN_REJECTED', token: 'T0', generation: 0, nowMs },
    { type: 'CALLERS_GONE', nowMs },
  ];
  if (resting) {
    events.push(
      // Long after: the cached token (if it expires) has expired, a proactive refresh is due.
      { type: 'TOKEN_NEEDED', nowMs: nowMs + 60_000 },
      // The clock stepped back (an NTP correction): a token that had expired is good again.
      { type: 'TOKEN_NEEDED', nowMs: nowMs - 60_000 },
      { type: 'TOKEN_REJECTED', token: 'T0', generation: 0, nowMs: nowMs - 60_000 },
      { type: 'TOKEN_DISCARDED', token, generation: context.cached?.generation ?? 1, nowMs },
      { type: 'TOKEN_DISCARDED', token: 'T0', generation: 0, nowMs },
    );
  }
  if (state === STATES.reading) {
    for (const record of recordsFor(context, nowMs)) events.push({ type: 'READ_OK', requestId, record, nowMs });
    // The lease watched, unchanged a whole lease later: only watching a lease that long makes it stale.
    const watched = context.observed;
    if (watched !== undefined && context.record?.leaseId === watched.leaseId) {
      events.push({ type: 'READ_OK', requestId, record: context.record, nowMs: Math.max(nowMs, watched.sinceMs + context.config.leaseMs + context.config.maxClockSkewMs) });
    }
    events.push({ type: 'READ_FAILED', requestId, code: 'STORE_UNAVAILABLE', message: 'throttled', cause: undefined, nowMs });
  }
  if (context.pendingWrite !== undefined && [STATES.claiming, STATES.takingOver, STATES.renewing, STATES.publishing, STATES.recordingFailure, STATES.releasing].includes(state as never)) {
    const request = context.pendingWrite;
    const applied = conditionHolds(request.condition, context.record) ? applyWrite(context.record, request) : applyWrite(context.record, { ...request, condition: { exists: false } });
    events.push({ type: 'WRITE_APPLIED', requestId, record: applied, nowMs });
    // An answer slower than the lease: too little of it is left for POST /auth.
    if (state === STATES.claiming || state === STATES.takingOver || state === STATES.renewing) {
      events.push({ type: 'WRITE_APPLIED', requestId, record: applied, nowMs: nowMs + context.config.leaseMs });
    }
    for (const current of recordsFor(context, nowMs).slice(0, 3)) events.push({ type: 'WRITE_REFUSED', requestId, current, nowMs });
    events.push({ type: 'WRITE_AMBIGUOUS', requestId, nowMs });
    events.push({ type: 'WRITE_FAILED', requestId, code: 'STORE_MISCONFIGURED', message: 'no such table', cause: undefined, nowMs });
  }
  if (state === STATES.refreshing) {
    events.push({ type: 'ISSUED', requestId, token: 'T9', nowMs });
    events.push({ type: 'ISSUED', requestId, token: 'T8', expiresAtMs: nowMs + 200, nowMs });
    events.push({ type: 'ISSUE_REFUSED', requestId, status: 401, nowMs });
    events.push({ type: 'ISSUE_REFUSED', requestId, status: undefined, nowMs });
    events.push({ type: 'ISSUE_UNKNOWN', requestId, nowMs });
    // The heartbeat timer (on the first issuer call of a clean episode only: every heartbeat
    // transition is reached from there, and offering it everywhere multiplies the walk), and the
    // answers to a heartbeat in flight.
    if (context.issuerAttempts === 1 && context.ambiguousWrites === 0 && !context.callersGone) events.push({ type: 'TIMER', timerId: context.timerId, nowMs });
    const heartbeatId = context.heartbeatId;
    const renewed = context.heartbeatLease;
    if (renewed !== undefined) {
      const ours = applyWrite(context.record, {
        intent: 'renew',
        condition: { exists: false },
        set: { leaseId: renewed.id, leaseAcquiredAtMs: renewed.startedAtMs, leaseExpiresAtMs: renewed.expiresAtMs },
        remove: [],
      });
      events.push({ type: 'HEARTBEAT_APPLIED', heartbeatId, record: ours, nowMs });
      for (const current of recordsFor(context, nowMs).slice(1, 3)) events.push({ type: 'HEARTBEAT_REFUSED', heartbeatId, current, nowMs });
      events.push({ type: 'HEARTBEAT_UNKNOWN', heartbeatId, nowMs });
    }
  }
  if (state === STATES.waiting) {
    events.push({ type: 'TIMER', timerId: context.timerId, nowMs: nowMs + 150 });
    // Long after: an observed lease has become stale on this instance's own clock.
    events.push({ type: 'TIMER', timerId: context.timerId, nowMs: nowMs + 5_000 });
  }
  return events;
}

function recordShape(record: TokenRecord | undefined): string {
  if (record === undefined) return 'none';
  return [record.token === undefined ? '' : 't', record.leaseId === undefined ? '' : record.leaseId === OTHER_LEASE ? 'L' : 'M', record.backoffUntilMs === undefined ? '' : 'b'].join('');
}

/** A coarse identity of a snapshot for the walk: the state plus what the guards look at. */
export function serializeForGraph(snapshot: Snapshot): string {
  const c = snapshot.context;
  return [
    String(snapshot.value),
    c.cached === undefined ? '-' : `${c.cached.value === c.rejectedToken ? 'rej' : 'ok'}${c.cached.expiresAtMs === undefined ? '' : 'e'}`,
    c.lease === undefined ? '' : 'L',
    c.pendingLease === undefined ? '' : 'P',
    c.issued === undefined ? '' : 'I',
    c.issuerAttempts,
    // Only its limit matters to a guard, and only to a holder.
    c.lease !== undefined && c.budgetRenewals >= BUDGET_RENEWALS_MAX ? 'B' : '',
    c.ambiguousWrites,
    c.callersGone ? 'G' : '',
    c.proactive ? 'pro' : '',
    c.rounds,
    recordShape(c.record),
    c.observed === undefined ? '' : 'O',
    c.decision?.kind ?? '',
    c.failure?.kind ?? '',
    c.pendingWrite?.intent ?? '',
    // A heartbeat in flight (how many were sent only matters at HEARTBEATS_MAX, where the timer is no longer armed).
    c.heartbeatLease === undefined ? '' : 'H',
  ].join('|');
}

/** What the walk proved. */
export interface ReachabilityReport {
  /** Machine states reached (by `getShortestPaths`), with the length of a shortest path to each. */
  readonly states: ReadonlyMap<string, number>;
  /** Transition ids taken at least once. */
  readonly taken: ReadonlySet<string>;
  readonly inventory: readonly TransitionInfo[];
  /** Abstract snapshots walked, and edges replayed (until every transition was seen). */
  readonly snapshots: number;
  readonly edges: number;
}

/**
 * Walks the machine with `xstate/graph` and replays every edge to see which transitions fire.
 *
 * @example
 * ```ts
 * const report = reachability(batonMachine);
 * const missing = report.inventory.filter((t) => !report.taken.has(t.id));
 * ```
 */
export function reachability(machine: BatonMachine): ReachabilityReport {
  const options = { input: GRAPH_INPUT, events: eventsFor, serializeState: (snapshot: Snapshot) => serializeForGraph(snapshot), serializeEvent: (event: MachineEvent) => JSON.stringify(event) };
  const states = new Map<string, number>();
  for (const path of getShortestPaths(machine, options)) {
    const name = String(path.state.value);
    const length = path.steps.length;
    if (!states.has(name) || (states.get(name) ?? Infinity) > length) states.set(name, length);
  }
  // Transient states (deciding, failing) are passed within one macrostep: a path through them shows in the microsteps below.
  const inventory = transitionInventory(machine);
  const taken = new Set<string>();
  const adjacency = getAdjacencyMap(machine, options);
  let edges = 0;
  for (const { state, transitions } of Object.values(adjacency)) {
    if (taken.size === inventory.size) break;
    for (const { event } of Object.values(transitions) as { event: MachineEvent }[]) {
      edges += 1;
      const inspect = (inspection: InspectionEvent): void => {
        if (inspection.type !== '@xstate.microstep') return;
        for (const def of (inspection as unknown as { _transitions: Definition[] })._transitions) {
          const info = inventory.get(def);
          if (info === undefined) continue;
          taken.add(info.id);
          for (const target of info.targets) if (!states.has(target)) states.set(target, -1);
        }
      };
      // Restore the walked snapshot in an actor whose effects are the machine's no-ops, and watch its microsteps.
      const actor = createActor(machine, { snapshot: state, inspect } as Parameters<typeof createActor<BatonMachine>>[1]);
      actor.start();
      actor.send(event);
      actor.stop();
    }
  }
  return { states, taken, inventory: [...inventory.values()], snapshots: Object.keys(adjacency).length, edges };
}
