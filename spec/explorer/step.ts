/**
 * The world's steps: everything that may happen next, each as a separate step so the explorer
 * tries every interleaving. A step is one of
 * - an instance's caller starts a `withToken` call, or uses the token it holds (the chat API
 *   accepts it or answers 401, which the runtime turns into `TOKEN_REJECTED`);
 * - a request *arrives* (the store reads or applies a write; the issuer mints a token and so
 *   invalidates every earlier one), and later its *answer* goes back to the machine;
 * - a poll timer fires;
 * - a fault: a crash, an outside invalidation, a lost write answer, an unknown `POST /auth`
 *   outcome (answered before or after the request arrived), the late landing of an orphaned
 *   `POST /auth`;
 * - time jumps past every lease.
 * Effects are performed the way `src/runtime/coordinator.ts` performs them.
 */
import type { ProtocolRules } from '../../src/machine/rules.js';
import { applyWrite, conditionHolds } from '../../src/machine/record.js';
import type { TokenRecord } from '../../src/machine/record.js';
import { backoffActive, cachedUsable, proactiveDue } from '../../src/machine/predicates.js';
import type { MachineEvent } from '../../src/machine/types.js';
import { checkAppliedWrite, checkWriteShape, quiet, settled, violation } from './invariants.js';
import type { Violation } from './invariants.js';
import type { ExplorerConstraints } from './options.js';
import type { MachineStepper } from './stepper.js';
import { epochOf, nowOf, stateOf, timerEnabled, tokenName, withInstance } from './world.js';
import type { Budget, Caller, InFlight, Instance, Orphan, Tally, Timer, World, WriterView } from './world.js';

/** Everything a step needs besides the world. */
export interface Model {
  readonly options: ExplorerConstraints;
  readonly rules: ProtocolRules;
  readonly stepper: MachineStepper;
  /** Reads may be eventually consistent: keep the item one write earlier. */
  readonly trackPrevious: boolean;
}

/** One possible next state. */
export interface Successor {
  readonly world: World;
  readonly violations: readonly Violation[];
  /** Index of the instance that acted (−1: the environment). */
  readonly actor: number;
  /** What happened, for traces (built only when a trace is printed). */
  readonly describe: () => string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Summary of an item for trace lines. */
export function itemSummary(record: TokenRecord | undefined): string {
  if (record === undefined) return 'no item';
  const lease = record.leaseId === undefined ? '' : ` lease=${record.leaseId}`;
  return `r${record.revision} g${record.generation} ${record.token ?? '-'}${lease}`;
}

export type FaultKind = 'crashes' | 'lostResponses' | 'unknownOutcomes' | 'orphanedIssues' | 'freezes' | 'refusals';

/**
 * What a fault costs from the run's fault budget. A freeze and an orphaned `POST /auth` leave a
 * second actor in flight (a stale holder, a request that may land at any later moment), so they
 * multiply the interleavings most.
 */
export const FAULT_COST: Readonly<Record<FaultKind, number>> = { crashes: 1, lostResponses: 1, unknownOutcomes: 1, orphanedIssues: 3, freezes: 2, refusals: 1 };

function canFault(budget: Budget, kind: FaultKind): boolean {
  return budget[kind] > 0 && budget.faults >= FAULT_COST[kind];
}

function spend(budget: Budget, kind: FaultKind): Budget {
  return { ...budget, [kind]: budget[kind] - 1, faults: budget.faults - FAULT_COST[kind] };
}

function withTally(world: World, change: Partial<Tally>): World {
  return { ...world, tally: { ...world.tally, ...change } };
}

/**
 * Sends `event` to instance `index` and performs the effects, as the coordinator does.
 * Violations of I0/I2 found on the way are appended to `violations`.
 */
function send(model: Model, world: World, index: number, event: MachineEvent, violations: Violation[]): World {
  const instance = world.instances[index];
  if (instance === undefined) throw new Error(`no instance ${index}`);
  const outcome = model.stepper.step(instance.snapshot, event);
  if (!outcome.ok) {
    violations.push(violation('machine-assertion', `${instance.id} threw on ${event.type} in ${stateOf(instance)}: ${outcome.error}`));
    return world;
  }
  const context = outcome.snapshot.context;
  const next: Mutable<Instance> = { ...instance, snapshot: outcome.snapshot };
  let inFlight: InFlight[] | undefined;
  const tally: Mutable<Tally> = { ...world.tally };
  let economySlack = world.economySlack;
  let orphans: Orphan[] | undefined;
  for (const effect of outcome.effects) {
    switch (effect.type) {
      case 'readRecord':
        inFlight ??= instance.inFlight.slice();
        inFlight.push({ kind: 'read', requestId: effect.params.requestId, consistent: effect.params.consistent, arrived: false });
        break;
      case 'writeRecord': {
        const shape = checkWriteShape(effect.params.request, instance.id);
        if (shape !== undefined) violations.push(shape);
        const writer: WriterView = {
          instance: index,
          leaseId: (context.pendingLease ?? context.lease)?.id,
          decidedGeneration: context.record?.generation ?? 0,
          replaceToken: context.replaceToken,
        };
        inFlight ??= instance.inFlight.slice();
        inFlight.push({ kind: 'write', requestId: effect.params.requestId, heartbeat: false, request: effect.params.request, writer, arrived: false });
        break;
      }
      case 'renewLease': {
        const shape = checkWriteShape(effect.params.request, instance.id);
        if (shape !== undefined) violations.push(shape);
        const writer: WriterView = { instance: index, leaseId: context.lease?.id, decidedGeneration: context.record?.generation ?? 0, replaceToken: context.replaceToken };
        inFlight ??= instance.inFlight.slice();
        inFlight.push({ kind: 'write', requestId: effect.params.heartbeatId, heartbeat: true, request: effect.params.request, writer, arrived: false });
        break;
      }
      case 'extendIssuerDeadline':
        // Time is abstract here: the issuer answers within the epoch or a freeze is the fault.
        break;
      case 'abortIssuer': {
        // The lease was lost: the runtime aborts the call. One that has not landed yet may still land
        // (an abort cannot recall bytes on the wire): it becomes an orphan, an incident the holder
        // could not prevent (the same allowance as a POST /auth landing after a takeover).
        inFlight ??= instance.inFlight.slice();
        const k = inFlight.findIndex((f) => f.kind === 'issuer' && f.requestId === effect.params.requestId);
        const call = inFlight[k];
        if (call === undefined) break;
        inFlight.splice(k, 1);
        if (!call.arrived) {
          orphans = [...(orphans ?? world.orphans), { kind: 'issuer', from: index }];
          if (!model.options.strictEconomy) economySlack += 1;
        }
        break;
      }
      case 'callIssuer':
        inFlight ??= instance.inFlight.slice();
        inFlight.push({ kind: 'issuer', requestId: effect.params.requestId, arrived: false });
        break;
      case 'startTimer':
        // The coordinator replaces any armed poll timer.
        next.timer = {
          timerId: effect.params.timerId,
          armedEpoch: world.epoch,
          armedRejected: context.rejectedToken,
          armedItemRevision: world.item?.revision ?? 0,
        } satisfies Timer;
        break;
      case 'deliverToken': {
        const caller = next.caller;
        // Waiters take a delivered token only if it is not the one they saw rejected.
        if (caller?.phase === 'waiting' && effect.params.token !== caller.rejectedToken) {
          next.caller = { phase: 'holding', attempt: caller.attempt, token: effect.params.token, generation: effect.params.generation };
        }
        break;
      }
      case 'failWaiters':
        if (effect.params.failure.kind === 'round-limit' && process.env['ROUNDS_DEBUG'] === '1') (globalThis as { roundLimits?: number }).roundLimits = ((globalThis as { roundLimits?: number }).roundLimits ?? 0) + 1;
        if (next.caller?.phase === 'waiting') {
          next.caller = undefined;
          tally.callsFailed += 1;
        }
        break;
      case 'raiseAlarm':
        tally.alarms += 1;
        break;
      case 'reportTakeover':
        tally.takeoversReported += 1;
        break;
      case 'reportFenced':
        break;
    }
  }
  if (inFlight !== undefined) next.inFlight = inFlight;
  // Timers matter only in `waiting` (polls) and `refreshing` (heartbeats); elsewhere the machine
  // ignores a firing, so the runtime's leftover timer is dropped rather than fired for nothing.
  const state = stateOf(next as Instance);
  if (next.timer !== undefined && state !== 'waiting' && state !== 'refreshing') next.timer = undefined;
  return { ...withInstance(world, index, next), tally, economySlack, ...(orphans === undefined ? {} : { orphans }) };
}

/**
 * Whether time may jump: only when something waits for time — a follower whose poll could learn
 * nothing new (only staleness can free it), or a running back-off. A jump at any other moment
 * would only multiply interleavings: the same jump taken when a follower is blocked gives every
 * decision that depends on time the same outcome.
 */
function timeMayJump(world: World): boolean {
  if (backoffActive(world.item, nowOf(world))) return true;
  // (A holder's heartbeat timer waits for less than a lease: a jump past it is a freeze, see `frozenBy`.)
  return world.instances.some((instance) => !instance.crashed && instance.timer !== undefined && stateOf(instance) !== 'refreshing' && !timerEnabled(world, instance, 0));
}

/**
 * Live instances working under a lease taken in the current epoch: a time jump now means they
 * were frozen (or their issuer or store call outlived the lease), which assumption A2 excludes
 * except as a fault.
 */
function frozenBy(world: World): string[] {
  return world.instances
    .filter((instance) => {
      // Only instances at work: an idle instance may still remember a pending lease (the machine keeps it
      // across episodes to recognise it later), but nobody works under it.
      if (instance.crashed || !busy(instance)) return false;
      const c = instance.snapshot.context;
      return [c.lease, c.pendingLease].some((lease) => lease !== undefined && epochOf(lease.startedAtMs) === world.epoch);
    })
    .map((instance) => instance.id);
}

function busy(instance: Instance): boolean {
  const state = stateOf(instance);
  return instance.inFlight.length > 0 || instance.caller !== undefined || (state !== 'idle' && state !== 'using');
}

function removeAt<T>(items: readonly T[], index: number): T[] {
  return [...items.slice(0, index), ...items.slice(index + 1)];
}

function replaceAt<T>(items: readonly T[], index: number, item: T): T[] {
  const out = items.slice();
  out[index] = item;
  return out;
}

interface Outcome {
  readonly world: World;
  readonly violations: Violation[];
  readonly describe: () => string;
}

/** A store request of instance `i` (at `k` in its in-flight list) reaches the store: one outcome per thing it may see. */
function arrive(model: Model, world: World, i: number, k: number, f: Extract<InFlight, { kind: 'read' | 'write' }>): Outcome[] {
  const instance = world.instances[i];
  if (instance === undefined) return [];
  const who = instance.id;
  if (f.kind === 'read') {
    const seen: (TokenRecord | undefined)[] = [world.item];
    // An eventually consistent read may return the item one write earlier.
    if (!f.consistent && model.trackPrevious && world.previous !== undefined && world.previous !== world.item) seen.push(world.previous);
    return seen.map((record, which) => ({
      world: withInstance(world, i, { ...instance, inFlight: replaceAt(instance.inFlight, k, { kind: 'read', requestId: f.requestId, consistent: f.consistent, arrived: true, record }) }),
      violations: [],
      describe: () => `${who}: ${f.consistent ? 'consistent' : 'eventual'} read sees ${which === 0 ? 'the item' : 'the item ONE WRITE EARLIER'} (${itemSummary(record)})`,
    }));
  }
  const result = arriveWrite(model, world, f.request, f.writer, who);
  const arrived: InFlight = { ...f, arrived: true, applied: result.applied, record: result.record };
  return [
    {
      world: withInstance(result.world, i, { ...instance, inFlight: replaceAt(instance.inFlight, k, arrived) }),
      violations: result.violations,
      describe: () => `${who}: ${f.request.intent} write ${result.applied ? 'applied' : 'refused (condition failed)'}`,
    },
  ];
}

/** The answer to the arrived store request at `k` goes back to instance `i` (and may be lost, for writes). */
function answers(model: Model, world: World, i: number, k: number): Outcome[] {
  const instance = world.instances[i];
  const f = instance?.inFlight[k];
  if (instance === undefined || f === undefined || !f.arrived || f.kind === 'issuer') return [];
  const who = instance.id;
  const nowMs = nowOf(world);
  const current = f.kind === 'write' && f.heartbeat ? instance.snapshot.context.heartbeatId : instance.snapshot.context.requestId;
  const stale = f.requestId !== current ? ' (stale)' : '';
  const base = withInstance(world, i, { ...instance, inFlight: removeAt(instance.inFlight, k) });
  if (f.kind === 'read') {
    const violations: Violation[] = [];
    const next = send(model, base, i, { type: 'READ_OK', requestId: f.requestId, record: f.record, nowMs }, violations);
    return [{ world: next, violations, describe: () => `${who}: READ_OK${stale}` }];
  }
  const out: Outcome[] = [];
  const violations: Violation[] = [];
  if (f.heartbeat) {
    const heartbeatId = f.requestId;
    const answer: MachineEvent = f.applied
      ? { type: 'HEARTBEAT_APPLIED', heartbeatId, record: f.record ?? missing(), nowMs }
      : { type: 'HEARTBEAT_REFUSED', heartbeatId, current: f.record, nowMs };
    out.push({ world: send(model, base, i, answer, violations), violations, describe: () => `${who}: ${answer.type}${stale}` });
    if (canFault(world.budget, 'lostResponses') && f.applied) {
      const lost: World = { ...base, budget: spend(base.budget, 'lostResponses') };
      const lostViolations: Violation[] = [];
      const next = send(model, lost, i, { type: 'HEARTBEAT_UNKNOWN', heartbeatId, nowMs }, lostViolations);
      out.push({ world: next, violations: lostViolations, describe: () => `${who}: the heartbeat's answer is lost → HEARTBEAT_UNKNOWN${stale} [fault]` });
    }
    return out;
  }
  const event: MachineEvent = f.applied
    ? { type: 'WRITE_APPLIED', requestId: f.requestId, record: f.record ?? missing(), nowMs }
    : { type: 'WRITE_REFUSED', requestId: f.requestId, current: f.record, nowMs };
  out.push({ world: send(model, base, i, event, violations), violations, describe: () => `${who}: ${event.type}${stale}` });
  // The fault as the issue words it: the write was applied, its answer is lost.
  if (canFault(world.budget, 'lostResponses') && f.applied) {
    const lost: World = { ...base, budget: spend(base.budget, 'lostResponses') };
    const lostViolations: Violation[] = [];
    const next = send(model, lost, i, { type: 'WRITE_AMBIGUOUS', requestId: f.requestId, nowMs }, lostViolations);
    out.push({ world: next, violations: lostViolations, describe: () => `${who}: the answer is lost → WRITE_AMBIGUOUS${stale} [fault]` });
  }
  return out;
}

/**
 * The caller of instance `i` uses the token it was just granted, at once: the chat API accepts
 * it, or answers 401 and the runtime sends `TOKEN_REJECTED` (which may grant another token).
 * Using it later instead changes nothing: until then the instance's machine has nothing to do,
 * and the only step that could change the answer — a new token minted — can just as well happen
 * before the grant.
 */
function useGranted(model: Model, start: World, i: number, violations: Violation[]): { world: World; notes: string[] } {
  const notes: string[] = [];
  let world = start;
  for (let used = useOnce(model, world, i, violations); used !== undefined; used = useOnce(model, world, i, violations)) {
    notes.push(used.note);
    world = used.world;
  }
  return { world, notes };
}

/**
 * The caller of instance `i`, holding a token, uses it once, as `withToken` does: 200 ends the
 * call; 401 sends `TOKEN_REJECTED` and waits again, or — out of attempts — fails the call and
 * sends `TOKEN_DISCARDED`. Undefined when the caller holds no token.
 */
function useOnce(model: Model, world: World, i: number, violations: Violation[]): { world: World; note: string } | undefined {
  const instance = world.instances[i];
  const caller = instance?.caller;
  if (instance === undefined || instance.crashed || caller?.phase !== 'holding') return undefined;
  const nowMs = nowOf(world);
  if (caller.token === tokenName(world.validToken)) {
    return { world: withTally(withInstance(world, i, { ...instance, caller: undefined }), { callsOk: world.tally.callsOk + 1 }), note: `uses ${caller.token} → 200 (call done)` };
  }
  if (caller.attempt >= model.options.maxAttempts) {
    const failed = withTally(withInstance(world, i, { ...instance, caller: undefined }), { callsFailed: world.tally.callsFailed + 1 });
    const event: MachineEvent = { type: 'TOKEN_DISCARDED', token: caller.token, generation: caller.generation, nowMs };
    return { world: send(model, failed, i, event, violations), note: `uses ${caller.token} → 401, attempts exhausted (call fails) → TOKEN_DISCARDED` };
  }
  const waiting: Caller = { phase: 'waiting', attempt: caller.attempt + 1, rejectedToken: caller.token };
  const event: MachineEvent = { type: 'TOKEN_REJECTED', token: caller.token, generation: caller.generation, nowMs };
  return { world: send(model, withInstance(world, i, { ...instance, caller: waiting }), i, event, violations), note: `uses ${caller.token} → 401 → TOKEN_REJECTED` };
}

/** Applies a write arriving at the item; returns the new world, the outcome and any violation. */
function arriveWrite(model: Model, world: World, request: Extract<InFlight, { kind: 'write' }>['request'], writer: WriterView, writerId: string): { world: World; applied: boolean; record: TokenRecord | undefined; violations: Violation[] } {
  const before = world.item;
  if (!conditionHolds(request.condition, before)) return { world, applied: false, record: before, violations: [] };
  const after = applyWrite(before, request);
  const violations = checkAppliedWrite(before, after, request, writer, writerId);
  let next: World = { ...world, item: after, previous: model.trackPrevious ? before : undefined };
  // Takeovers are counted where they happen (the item), not where they are reported: an instance
  // that learns of its takeover by reading back after a lost answer never reports it.
  if (request.intent === 'take-over') next = { ...next, economySlack: next.economySlack + 1, tally: { ...next.tally, takeovers: next.tally.takeovers + 1 } };
  return { world: next, applied: true, record: after, violations };
}

/** Mints the next token at the chat API: it becomes the only valid one. */
function mint(world: World): World {
  const minted = world.minted + 1;
  return { ...world, minted, validToken: minted };
}

/**
 * Every successor of `world`, in a fixed order (traces are replayed by index).
 *
 * @example
 * ```ts
 * for (const next of successors(model, world)) check(next.world);
 * ```
 */
export function successors(model: Model, world: World): Successor[] {
  const out: Successor[] = [];
  const { options } = model;
  const nowMs = nowOf(world);
  const push = (next: World, violations: Violation[], actor: number, describe: () => string): void => {
    if (actor < 0 || options.useSeparately) {
      out.push({ world: next, violations, actor, describe });
      return;
    }
    const used = useGranted(model, next, actor, violations);
    out.push({ world: used.world, violations, actor, describe: used.notes.length === 0 ? describe : () => `${describe()}; ${used.notes.join('; ')}` });
  };
  // (Not during a recorded back-off: callers then fail fast, as the regular calls show; the next one comes after it.)
  const probing = world.budget.probes > 0 && quiet(world, options.calls) && !settled(world) && !backoffActive(world.item, nowMs);

  world.instances.forEach((instance, i) => {
    if (instance.crashed) return;
    const context = instance.snapshot.context;
    const who = instance.id;

    // A caller starts its next withToken call (the coordinator's warm path needs no machine step).
    // Once every call is made, a quiet but unsettled fleet still gets traffic: the next caller comes.
    const probe = instance.callsStarted >= options.calls && probing;
    if (instance.caller === undefined && (instance.callsStarted < options.calls || probe)) {
      const callNo = probe ? 'extra' : String(instance.callsStarted + 1);
      const started = { ...instance, callsStarted: Math.min(options.calls, instance.callsStarted + 1) };
      const from = probe ? { ...world, budget: { ...world.budget, probes: world.budget.probes - 1 } } : world;
      if (stateOf(instance) === 'using' && cachedUsable(context, nowMs) && !proactiveDue(context, nowMs)) {
        const cached = context.cached;
        const caller: Caller = { phase: 'holding', attempt: 1, token: cached.value, generation: cached.generation };
        push(withInstance(from, i, { ...started, caller }), [], i, () => `${who}: call ${callNo} takes cached ${cached.value} (g${cached.generation})`);
      } else {
        const violations: Violation[] = [];
        const waiting: Caller = { phase: 'waiting', attempt: 1, rejectedToken: undefined };
        const next = send(model, withInstance(from, i, { ...started, caller: waiting }), i, { type: 'TOKEN_NEEDED', nowMs }, violations);
        push(next, violations, i, () => `${who}: call ${callNo} needs a token → TOKEN_NEEDED`);
      }
    }

    // The caller uses its token; the chat API accepts only the last token minted.
    if (options.useSeparately) {
      const violations: Violation[] = [];
      const used = useOnce(model, world, i, violations);
      if (used !== undefined) push(used.world, violations, i, () => `${who}: ${used.note}`);
    }

    // Requests in flight: arrival, then answer (for store requests one step unless splitStore).
    instance.inFlight.forEach((f, k) => {
      const stale = f.requestId !== context.requestId ? ' (stale)' : '';
      if (f.kind === 'read' || f.kind === 'write') {
        if (!f.arrived) {
          for (const arrival of arrive(model, world, i, k, f)) {
            if (options.splitStore) push(arrival.world, arrival.violations, i, arrival.describe);
            else for (const answer of answers(model, arrival.world, i, k)) push(answer.world, [...arrival.violations, ...answer.violations], i, () => `${arrival.describe()}; ${answer.describe()}`);
          }
        } else {
          for (const answer of answers(model, world, i, k)) push(answer.world, answer.violations, i, answer.describe);
        }
        return;
      }
      // POST /auth
      if (!f.arrived) {
        const minted = mint(world);
        const token = tokenName(minted.minted);
        const arrived: InFlight = { kind: 'issuer', requestId: f.requestId, arrived: true, token };
        // Landing after the lease was taken over means the issuer was slower than the lease (S3):
        // the spec's I7 excludes that case; the default check allows the one extra refresh it causes.
        const late = world.item?.leaseId !== (context.pendingLease ?? context.lease)?.id;
        const allowance = late && !options.strictEconomy ? 1 : 0;
        const next = withTally(
          { ...withInstance(minted, i, { ...instance, inFlight: replaceAt(instance.inFlight, k, arrived) }), economySlack: world.economySlack - 1 + allowance },
          { authCalls: world.tally.authCalls + 1 },
        );
        push(next, [], i, () => `${who}: POST /auth arrives${late ? ' after its lease was taken over' : ''} → ${token} minted, earlier tokens invalid`);
        if (canFault(world.budget, 'refusals')) {
          // The issuer refuses the credentials (rotated secret): no token is minted, the answer is a 401.
          const base: World = { ...withInstance(world, i, { ...instance, inFlight: removeAt(instance.inFlight, k) }), budget: spend(world.budget, 'refusals') };
          const violations: Violation[] = [];
          const refused = send(model, withTally(base, { authCalls: world.tally.authCalls + 1 }), i, { type: 'ISSUE_REFUSED', requestId: f.requestId, status: 401, nowMs }, violations);
          push({ ...refused, economySlack: refused.economySlack }, violations, i, () => `${who}: POST /auth refused (credentials revoked) → ISSUE_REFUSED 401 [fault]`);
        }
        if (canFault(world.budget, 'orphanedIssues')) {
          // The caller gives up (timeout, abort, connection error) before the request lands; it may still land later.
          const orphan: Orphan = { kind: 'issuer', from: i };
          const base: World = {
            ...withInstance(world, i, { ...instance, inFlight: removeAt(instance.inFlight, k) }),
            orphans: [...world.orphans, orphan],
            budget: spend(world.budget, 'orphanedIssues'),
            economySlack: world.economySlack + 1,
          };
          const violations: Violation[] = [];
          const sent = send(model, base, i, { type: 'ISSUE_UNKNOWN', requestId: f.requestId, nowMs }, violations);
          push(sent, violations, i, () => `${who}: POST /auth times out before it lands → ISSUE_UNKNOWN${stale} (request may still land) [fault]`);
        }
      } else {
        const base = withInstance(world, i, { ...instance, inFlight: removeAt(instance.inFlight, k) });
        const violations: Violation[] = [];
        push(send(model, base, i, { type: 'ISSUED', requestId: f.requestId, token: f.token, nowMs }, violations), violations, i, () => `${who}: ISSUED ${f.token}${stale}`);
        if (canFault(world.budget, 'unknownOutcomes')) {
          const lost: World = { ...base, budget: spend(base.budget, 'unknownOutcomes'), economySlack: base.economySlack + 1 };
          const lostViolations: Violation[] = [];
          const next = send(model, lost, i, { type: 'ISSUE_UNKNOWN', requestId: f.requestId, nowMs }, lostViolations);
          push(next, lostViolations, i, () => `${who}: answer of POST /auth (${f.token}) is lost → ISSUE_UNKNOWN${stale} [fault]`);
        }
      }
    });

    // The poll timer fires.
    const timer = instance.timer;
    if (timer !== undefined && timerEnabled(world, instance, options.heartbeats)) {
      const violations: Violation[] = [];
      const base = withInstance(world, i, { ...instance, timer: undefined });
      const what = stateOf(instance) === 'refreshing' ? 'heartbeat timer' : 'poll timer';
      push(send(model, base, i, { type: 'TIMER', timerId: timer.timerId, nowMs }, violations), violations, i, () => `${who}: ${what} fires`);
    }

    // The instance crashes (Lambda timeout, killed process) while it is doing something.
    if (canFault(world.budget, 'crashes') && busy(instance)) {
      const orphans: Orphan[] = [...world.orphans];
      for (const f of instance.inFlight) {
        if (f.arrived) continue;
        if (f.kind === 'write') orphans.push({ kind: 'write', request: f.request, writer: f.writer });
        if (f.kind === 'issuer') orphans.push({ kind: 'issuer', from: i });
      }
      const crashed: Instance = { ...instance, crashed: true, inFlight: [], timer: undefined, caller: undefined };
      const next: World = { ...withInstance(world, i, crashed), orphans, budget: spend(world.budget, 'crashes') };
      push(next, [], i, () => `${who}: CRASHES in ${stateOf(instance)} [fault]`);
    }
  });

  // Requests whose sender is gone: they may still land, or never.
  world.orphans.forEach((orphan, k) => {
    const rest = removeAt(world.orphans, k);
    const from = orphan.kind === 'write' ? orphan.writer.instance : orphan.from;
    const who = world.instances[from]?.id ?? '?';
    if (orphan.kind === 'write') {
      const result = arriveWrite(model, { ...world, orphans: rest }, orphan.request, orphan.writer, who);
      push(result.world, result.violations, -1, () => `${who}'s orphaned ${orphan.request.intent} write lands → ${result.applied ? 'applied' : 'condition failed'}`);
    } else {
      // A late POST /auth is an incident: it invalidates whatever the fleet uses.
      const next = withTally({ ...mint({ ...world, orphans: rest }), economySlack: world.economySlack }, { authCalls: world.tally.authCalls + 1 });
      push(next, [], -1, () => `${who}'s orphaned POST /auth lands late → ${tokenName(world.minted + 1)} minted, earlier tokens invalid [incident]`);
    }
    push({ ...world, orphans: rest }, [], -1, () => `${who}'s orphaned ${orphan.kind === 'write' ? orphan.request.intent + ' write' : 'POST /auth'} never lands`);
  });

  // Someone outside mints a token (another client with the same credentials, a console login).
  if (world.budget.invalidations > 0) {
    const next: World = {
      ...mint(world),
      budget: { ...world.budget, invalidations: world.budget.invalidations - 1 },
      economySlack: world.economySlack + 1,
    };
    push(next, [], -1, () => `outside POST /auth → ${tokenName(world.minted + 1)} minted, every fleet token invalid [incident]`);
  }

  // Time passes: every lease taken so far runs out on every clock.
  if (timeMayJump(world)) {
    const frozen = frozenBy(world);
    if (frozen.length === 0) {
      push({ ...world, epoch: world.epoch + 1 }, [], -1, () => `time passes (+lease+skew): every lease so far has expired`);
    } else if (canFault(world.budget, 'freezes') && (process.env['FREEZE_ANY'] === '1' || world.instances.every((instance) => !frozen.includes(instance.id) || instance.inFlight.some((f) => f.kind === 'issuer')))) {
      const next: World = { ...world, epoch: world.epoch + 1, budget: spend(world.budget, 'freezes') };
      push(next, [], -1, () => `time passes while ${frozen.join(', ')} work(s) under a live lease (frozen / slower than the lease) [fault]`);
    }
  }
  return out;
}

function missing(): never {
  throw new Error('explorer bug: an applied write without a record');
}
