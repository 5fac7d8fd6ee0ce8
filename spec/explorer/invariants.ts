/**
 * The properties the explorer checks. Safety checks run on every state (I1, I5a, I7) and on
 * every write as it reaches the item (I2, I3); liveness (I5, I6) is decided on the whole graph
 * by `liveness.ts` using {@link settled}.
 */
import type { TokenRecord, WriteRequest } from '../../src/machine/record.js';
import { epochOf, leaseOwner, stateOf, timerEnabled, tokenIndex, tokenName } from './world.js';
import type { World, WriterView } from './world.js';

/** Names of the checked properties (numbering follows the spec). */
export type InvariantId = 'I0' | 'I1' | 'I2' | 'I3' | 'I5' | 'I5a' | 'I6' | 'I7';

/** One line per property, for reports. */
export const INVARIANTS: Readonly<Record<InvariantId, string>> = {
  I0: 'the machine never breaks its own assertions, and a caller never gets back a generation it saw rejected',
  I1: 'at most one live instance holds an unexpired lease for a given generation (two holders only across a takeover of an expired lease)',
  I2: 'fencing: every write states a condition beyond existence; publish/renew/release/record-failure apply only for the current lease holder; the stored token is never replaced by an older one',
  I3: 'a claim (or takeover) applies only while the item still holds the generation its writer decided on, never past a newer token than the one it must replace',
  I5: 'no deadlock: a follower leaves `waiting` within lease + skew + poll (it never waits again on a lease unchanged for longer), and no instance can be stuck in `waiting` for good',
  I5a: 'no forgotten lease: the item never names a lease of a live instance that no longer knows it holds it (everyone else would wait a whole lease on nobody)',
  I6: 'settlement: from every reachable state, a settled state is reachable (store and live instances on the token the chat API accepts)',
  I7: 'economy: POST /auth calls ≤ incidents + unknown outcomes + takeovers (+ one per POST /auth landing after its lease was taken over, unless --strict-economy)',
};

/** The individual checks, each guarding one property. */
export const CHECKS = {
  'machine-assertion': { invariant: 'I0', description: 'the machine threw (an internal assertion broke)' },
  'one-lease': { invariant: 'I1', description: 'two live instances hold unexpired leases for the same generation' },
  'unconditional-write': { invariant: 'I2', description: 'a write was sent conditioned on nothing but the item existing' },
  'fenced-write': { invariant: 'I2', description: 'a publish/renew/release/record-failure applied while the item named another lease' },
  'older-token': { invariant: 'I2', description: 'the stored token was replaced by a token issued before it' },
  'generation-order': { invariant: 'I2', description: 'the item went back a generation, or changed token without a new generation' },
  'stale-claim': { invariant: 'I3', description: 'a claim/takeover applied on another generation than its writer decided on' },
  'claim-past-newer': { invariant: 'I3', description: 'a claim/takeover applied over a token other than the one its writer had to replace' },
  'deadlock': { invariant: 'I6', description: 'a state with no way forward that is not settled (I5 when someone waits in it)' },
  'waits-forever': { invariant: 'I5', description: 'an instance is waiting and can never leave `waiting`' },
  'waits-past-lease': { invariant: 'I5', description: 'an instance decided to wait again on a lease it has seen unchanged for more than lease + skew' },
  'never-settles': { invariant: 'I6', description: 'no settled state is reachable' },
  'forgotten-lease': { invariant: 'I5a', description: 'the item names a lease its live holder no longer knows' },
  'economy': { invariant: 'I7', description: 'more POST /auth calls than the incidents, unknown outcomes and takeovers allow' },
} as const satisfies Record<string, { invariant: InvariantId; description: string }>;

/** Name of a check. */
export type CheckId = keyof typeof CHECKS;

/** A broken property, with what broke it. */
export interface Violation {
  readonly check: CheckId;
  readonly invariant: InvariantId;
  readonly message: string;
}

/** Builds a violation of `check`. */
export function violation(check: CheckId, message: string, invariant: InvariantId = CHECKS[check].invariant): Violation {
  return { check, invariant, message };
}

/** Intents only the lease holder may apply. */
const HOLDER_INTENTS: ReadonlySet<string> = new Set(['publish', 'renew', 'release', 'record-failure']);

/**
 * I2, as a write leaves an instance: it must be conditioned on more than the item's existence
 * (the only exception is the first write ever, which requires the item to be absent).
 */
export function checkWriteShape(request: WriteRequest, instanceId: string): Violation | undefined {
  const c = request.condition;
  if (typeof c.exists !== 'boolean') return violation('unconditional-write', `${instanceId} sent a ${request.intent} without an existence condition`);
  if (!c.exists) return undefined;
  if (c.leaseId !== undefined || c.generation !== undefined || c.revision !== undefined) return undefined;
  return violation('unconditional-write', `${instanceId} sent an unconditional ${request.intent} (condition: exists only)`);
}

/** I2 and I3, as a write is applied to the item. */
export function checkAppliedWrite(before: TokenRecord | undefined, after: TokenRecord, request: WriteRequest, writer: WriterView, writerId: string): Violation[] {
  const out: Violation[] = [];
  if (HOLDER_INTENTS.has(request.intent) && (writer.leaseId === undefined || before?.leaseId !== writer.leaseId)) {
    out.push(violation('fenced-write', `${writerId}'s ${request.intent} applied while the item's lease was ${before?.leaseId ?? 'none'}, not the writer's ${writer.leaseId ?? 'none'}`));
  }
  if (after.token !== before?.token && tokenIndex(after.token) <= tokenIndex(before?.token)) {
    out.push(violation('older-token', `${writerId}'s ${request.intent} replaced the stored ${before?.token ?? 'nothing'} with ${after.token ?? 'nothing'}, issued before it`));
  }
  if (after.generation < (before?.generation ?? 0) || (after.token !== before?.token && after.generation <= (before?.generation ?? 0))) {
    out.push(
      violation('generation-order', `${writerId}'s ${request.intent} moved the item from generation ${before?.generation ?? 0} (${before?.token ?? '-'}) to ${after.generation} (${after.token ?? '-'})`),
    );
  }
  if (request.intent === 'claim' || request.intent === 'take-over') {
    const stored = before?.generation ?? 0;
    if (stored !== writer.decidedGeneration) {
      out.push(violation('stale-claim', `${writerId}'s ${request.intent} applied on generation ${stored}, but it decided on generation ${writer.decidedGeneration}`));
    } else if (before?.token !== undefined && before.token !== writer.replaceToken) {
      out.push(
        violation('claim-past-newer', `${writerId}'s ${request.intent} applied over ${before.token} (generation ${stored}), not the ${writer.replaceToken ?? 'missing token'} it had to replace`),
      );
    }
  }
  return out;
}

/** States whose every outcome ends the episode and drops the lease. */
const GIVING_UP: ReadonlySet<string> = new Set(['releasing', 'recording-failure']);
/** Writes that give a lease up: an instance reading one back (after a lost answer) only ever sends it again. */
const GIVING_UP_INTENTS: ReadonlySet<string> = new Set(['release', 'record-failure']);

/** Safety checks on a state: I1, I5 (its time bound), I5a, I7. */
export function checkState(world: World): Violation[] {
  const out: Violation[] = [];
  // Holders of an unexpired lease, by the generation they hold it for (the item's generation when they took it).
  const holders = new Map<number, string>();
  for (const instance of world.instances) {
    if (instance.crashed) continue;
    const context = instance.snapshot.context;
    const lease = context.lease;
    // A lease taken before the last time jump has run out on every clock; an instance releasing its
    // lease (or recording a failure under it, or reading either back) is giving it up and acts on it no more.
    if (lease === undefined || epochOf(lease.startedAtMs) !== world.epoch) continue;
    if (GIVING_UP.has(stateOf(instance)) || GIVING_UP_INTENTS.has(context.pendingWrite?.intent ?? '')) continue;
    const generation = context.record?.generation ?? 0;
    const other = holders.get(generation);
    if (other !== undefined) {
      out.push(violation('one-lease', `two live leases for generation ${generation}: ${other} and ${instance.id} (${lease.id})`));
    }
    holders.set(generation, `${instance.id} (${lease.id})`);
  }

  // I5's bound: a follower leaves `waiting` within lease + skew + poll. A wait decided on a lease
  // observed unchanged since before the last time jump (longer than lease + skew) breaks it. (A
  // pause before a read-back also waits, but its timer can fire at once: it is not a decision on
  // an unchanged item.)
  for (const instance of world.instances) {
    if (instance.crashed || stateOf(instance) !== 'waiting' || instance.timer === undefined || timerEnabled(world, instance, 0)) continue;
    const observed = instance.snapshot.context.observed;
    if (observed !== undefined && epochOf(observed.sinceMs) < world.epoch && world.item?.leaseId === observed.leaseId) {
      out.push(violation('waits-past-lease', `${instance.id} waits again on lease ${observed.leaseId}, unchanged since before the last lease + skew (it should have taken it over)`));
    }
  }

  const leaseId = world.item?.leaseId;
  if (leaseId !== undefined) {
    const holderId = leaseOwner(leaseId);
    const holder = world.instances.find((instance) => instance.id === holderId);
    if (holder !== undefined && !holder.crashed) {
      const c = holder.snapshot.context;
      const knows =
        c.lease?.id === leaseId ||
        c.pendingLease?.id === leaseId ||
        holder.inFlight.some((f) => f.kind === 'write' && (f.writer.leaseId === leaseId || f.request.set.leaseId === leaseId));
      if (!knows) {
        out.push(
          violation('forgotten-lease', `the item names lease ${leaseId}, but its live holder ${holderId} no longer knows it (state ${stateOf(holder)}); others wait a whole lease for nobody`),
        );
      }
    }
  }

  if (world.economySlack < 0) {
    out.push(
      violation('economy', `${world.tally.authCalls} POST /auth calls exceed the allowance (incidents + unknown outcomes + ${world.tally.takeovers} takeover(s) + late landings)`),
    );
  }
  return out;
}

/**
 * A settled state (I6): nothing in flight, no caller running, no instance mid-episode, and the
 * item holds the token the chat API accepts. A live instance may still cache an older
 * generation than the item's (its next call meets a 401 and adopts the stored token without
 * any `POST /auth`), but never another token of the same or a newer generation.
 */
export function settled(world: World): boolean {
  if (world.orphans.length > 0 || world.validToken === 0) return false;
  const item = world.item;
  const accepted = tokenName(world.validToken);
  if (item === undefined || item.token !== accepted || item.leaseId !== undefined) return false;
  for (const instance of world.instances) {
    if (instance.crashed) continue;
    if (instance.inFlight.length > 0 || instance.timer !== undefined || instance.caller !== undefined) return false;
    const state = stateOf(instance);
    if (state !== 'idle' && state !== 'using') return false;
    const cached = instance.snapshot.context.cached;
    if (cached !== undefined && cached.value !== accepted && tokenIndex(cached.value) >= tokenIndex(accepted)) return false;
  }
  return true;
}

/**
 * A quiet fleet: every call made, nothing in flight, no timer, no caller running, nothing
 * orphaned. If it is not settled, only more traffic can settle it (the next caller meets the
 * 401 or the empty item), so the model then lets any live instance make one more call.
 */
export function quiet(world: World, calls: number): boolean {
  if (world.orphans.length > 0) return false;
  return world.instances.every((instance) => instance.crashed || (instance.callsStarted >= calls && instance.inFlight.length === 0 && instance.timer === undefined && instance.caller === undefined));
}
