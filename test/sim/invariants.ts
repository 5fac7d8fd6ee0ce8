/**
 * Checkers of the protocol invariants I1–I8 over a recorded {@link SimHistory}. Each checker is a
 * pure function returning the violations it finds, so the property test, the model-based test and
 * the mutant test share them. {@link assertInvariants} throws one readable error listing every
 * violation followed by the run's timeline.
 */
import { ERROR_CODES, BatonError } from '../../src/runtime/errors.js';
import type { SimHistory, Violation, WriteRecord } from './harness.js';
import { formatTimeline, describeWrite, formatRecord, tokenGeneration } from './harness.js';

/** Intents only the lease holder may write: each must be fenced by its own lease id. */
const HOLDER_INTENTS = new Set(['publish', 'renew', 'release', 'record-failure']);

/** Extra slack (ms) for the timing bounds: rounding of jittered delays and the 1 ms minimum sleep. */
const SLACK_MS = 2;

function v(invariant: string, kind: Violation['kind'], atMs: number, message: string): Violation {
  return { invariant, kind, atMs, message };
}

/** Lease ids are `<instanceId>.<nonce>#<counter>`. */
export function ownsLease(instanceId: string, leaseId: string | undefined): boolean {
  return leaseId !== undefined && leaseId.startsWith(`${instanceId}.`);
}

function holderOf(leaseId: string): string {
  return leaseId.slice(0, leaseId.indexOf('.'));
}

function rel(history: SimHistory, atMs: number): string {
  return `+${atMs - history.t0Ms}ms`;
}

/** Applied writes by store sequence number. */
function appliedBySeq(history: SimHistory): Map<number, WriteRecord> {
  const map = new Map<number, WriteRecord>();
  for (const write of history.writes) if (write.seq !== undefined) map.set(write.seq, write);
  return map;
}

/** Largest difference between two clock offsets of the run (all instances, all times). */
export function skewSpreadMs(history: SimHistory): number {
  const offsets = history.instances.flatMap((instance) => instance.offsets.map((entry) => entry.offsetMs));
  return offsets.length === 0 ? 0 : Math.max(...offsets) - Math.min(...offsets);
}

/** Time `instance` spent frozen (and, with `stalls`, waiting on slow store calls) within [fromMs, toMs]. */
function frozenWithin(history: SimHistory, instanceId: string, fromMs: number, toMs: number, options: { stalls?: boolean } = {}): number {
  const instance = history.instances.find((candidate) => candidate.id === instanceId);
  let total = 0;
  const intervals = [...(instance?.freezes ?? []), ...(options.stalls === true ? (instance?.stalls ?? []) : [])];
  for (const interval of intervals) total += Math.max(0, Math.min(toMs, interval.toMs) - Math.max(fromMs, interval.fromMs));
  return total;
}

/**
 * I1 — at most one live lease: a lease is ended only by its holder, or taken over once it has
 * expired. A take-over must land at least `leaseMs` after its holder sent the write that set the
 * lease's expiry (the holder's own timer started no later); that timing part holds only while
 * clock skew stays within `maxClockSkewMs`.
 */
export function checkI1(history: SimHistory): Violation[] {
  const found: Violation[] = [];
  const bySeq = appliedBySeq(history);
  const { leaseMs } = history.timing;
  for (const write of history.writes) {
    if (write.fate !== 'applied' || write.seq === undefined) continue;
    const leaseId = write.before?.leaseId;
    if (leaseId === undefined) continue;
    const at = write.arrivedAtMs ?? write.sentAtMs;
    if (ownsLease(write.writer, leaseId)) continue;
    if (write.request.intent === 'take-over') {
      if (!history.skewWithinTolerance) continue;
      const setter = bySeq.get(write.seq - 1);
      if (setter === undefined || setter.writer !== holderOf(leaseId)) continue;
      const liveUntilMs = setter.sentAtMs + leaseMs;
      if (at < liveUntilMs) {
        found.push(
          v('I1', 'behavioral', at, `${write.writer} took over lease ${leaseId} at ${rel(history, at)}, but ${setter.writer} set it at ${rel(history, setter.sentAtMs)} for ${leaseMs} ms: two live leases`),
        );
      }
      continue;
    }
    if (write.after?.leaseId !== leaseId) {
      found.push(v('I1', 'behavioral', at, `${write.writer}'s ${describeWrite(write.request)} ended the live lease ${leaseId} of ${holderOf(leaseId)} without taking it over`));
    }
  }
  return found;
}

/**
 * I2 — fencing: every write states a condition (no unconditional write); every holder write
 * (publish, renew, release, failure record) is conditioned on the writer's own lease id
 * (structural), and every one applied found the writer's lease in the item (behavioral). A publish
 * bumps the generation by exactly one.
 */
export function checkI2(history: SimHistory): Violation[] {
  const found: Violation[] = [];
  for (const write of history.writes) {
    const { condition, intent } = write.request;
    const conditioned = condition.exists === false || condition.leaseId !== undefined || condition.generation !== undefined || condition.revision !== undefined;
    if (typeof condition.exists !== 'boolean' || !conditioned) {
      found.push(v('I2', 'structural', write.sentAtMs, `${write.writer} sent an unconditional write: ${describeWrite(write.request)}`));
    } else if (HOLDER_INTENTS.has(intent) && !(typeof condition.leaseId === 'string' && ownsLease(write.writer, condition.leaseId))) {
      found.push(v('I2', 'structural', write.sentAtMs, `${write.writer} sent a ${intent} not fenced by its own lease: ${describeWrite(write.request)}`));
    }
    if (write.fate !== 'applied') continue;
    const at = write.arrivedAtMs ?? write.sentAtMs;
    if (HOLDER_INTENTS.has(intent) && !ownsLease(write.writer, write.before?.leaseId)) {
      found.push(
        v('I2', 'behavioral', at, `${write.writer}'s ${intent} was applied to an item it did not hold (${formatRecord(write.before)}): only the lease holder may write it`),
      );
    }
    if (intent === 'publish' && write.after !== undefined && write.after.generation !== (write.before?.generation ?? 0) + 1) {
      found.push(v('I2', 'behavioral', at, `${write.writer}'s publish moved the generation from ${write.before?.generation ?? 0} to ${write.after.generation}`));
    }
  }
  return found;
}

/**
 * I3 — versioned claims: an instance claims only while the generation it saw (and decided on) is
 * still the stored one.
 */
export function checkI3(history: SimHistory): Violation[] {
  const found: Violation[] = [];
  for (const write of history.writes) {
    if (write.request.intent !== 'claim' || write.fate !== 'applied') continue;
    const at = write.arrivedAtMs ?? write.sentAtMs;
    const seenGeneration = write.seenKnown ? (write.seen?.generation ?? 'none') : 'nothing (never read)';
    const storedGeneration = write.before?.generation ?? 'none';
    if (!write.seenKnown || seenGeneration !== storedGeneration) {
      found.push(
        v('I3', 'behavioral', at, `${write.writer} claimed on generation ${String(storedGeneration)} but decided on generation ${String(seenGeneration)}: it refreshes a token it never saw rejected`),
      );
    }
  }
  return found;
}

/**
 * I4 — bounded work: each `withToken` call invokes its function at most `maxAttempts` times and
 * stops waiting by its deadline (waiting time ≤ wait budget + clock moves + time frozen); every call
 * of a live instance returns; no runaway loop (reported online by the driver).
 */
export function checkI4(history: SimHistory): Violation[] {
  const found: Violation[] = [];
  const { maxAttempts } = history.timing;
  const spreadMs = skewSpreadMs(history);
  const crashed = new Map(history.instances.map((instance) => [instance.id, instance.crashedAtMs]));
  for (const call of history.calls) {
    if (call.attempts.length > maxAttempts) {
      found.push(v('I4', 'behavioral', call.startMs, `${call.instance}'s call ${call.messageId} ran its function ${call.attempts.length} times (maxAttempts ${maxAttempts})`));
    }
    const crashedAtMs = crashed.get(call.instance);
    if (call.settledAtMs === undefined) {
      if (crashedAtMs === undefined) found.push(v('I4', 'behavioral', call.startMs, `${call.instance}'s call ${call.messageId} never returned`));
      continue;
    }
    const inFnMs = call.attempts.reduce((sum, attempt) => sum + ((attempt.endMs ?? call.settledAtMs ?? attempt.startMs) - attempt.startMs), 0);
    const waitedMs = call.settledAtMs - call.startMs - inFnMs;
    const budgetMs = call.waitMs + spreadMs + frozenWithin(history, call.instance, call.startMs, call.settledAtMs) + SLACK_MS;
    if (waitedMs > budgetMs) {
      found.push(v('I4', 'behavioral', call.settledAtMs, `${call.instance}'s call ${call.messageId} waited ${waitedMs} ms for a token, past its deadline (budget ${budgetMs} ms)`));
    }
  }
  return found;
}

interface Interval {
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * Follower streaks per instance: from entering `waiting` (as a follower: not the pause a holder
 * takes before reading back a failed store call) to entering a state other than waiting/reading/deciding.
 */
function waitStreaks(history: SimHistory): Map<string, Interval[]> {
  const streaks = new Map<string, Interval[]>();
  const open = new Map<string, number>();
  const inStreak = new Set(['waiting', 'reading', 'deciding']);
  for (const change of history.states) {
    const start = open.get(change.instance);
    if (start === undefined) {
      if (change.to === 'waiting' && !change.afterFailedCall) open.set(change.instance, change.atMs);
      continue;
    }
    if (!inStreak.has(change.to)) {
      open.delete(change.instance);
      const list = streaks.get(change.instance) ?? [];
      list.push({ fromMs: start, toMs: change.atMs });
      streaks.set(change.instance, list);
    }
  }
  for (const [instance, start] of open) {
    const crashedAtMs = history.instances.find((candidate) => candidate.id === instance)?.crashedAtMs;
    const list = streaks.get(instance) ?? [];
    list.push({ fromMs: start, toMs: crashedAtMs ?? history.endMs });
    streaks.set(instance, list);
  }
  return streaks;
}

/** How far `instance`'s clock was set back within [fromMs, toMs] (its own-clock timers run that much longer). */
function clockSetBackWithin(history: SimHistory, instanceId: string, fromMs: number, toMs: number): number {
  const offsets = history.instances.find((candidate) => candidate.id === instanceId)?.offsets ?? [];
  let total = 0;
  for (let i = 1; i < offsets.length; i += 1) {
    const [before, after] = [offsets[i - 1], offsets[i]];
    if (before === undefined || after === undefined || after.atMs < fromMs || after.atMs > toMs) continue;
    total += Math.max(0, before.offsetMs - after.offsetMs);
  }
  return total;
}

/**
 * I5 — no deadlock: a waiting instance leaves `waiting` soon after the lease it waits for is gone
 * or stale, even if its holder crashed or froze. Versions of the item are replayed from the store
 * history; while a version has no lease the waiter must leave within one poll plus a read round
 * trip; while it holds a lease, within that plus lease + maxClockSkewMs after the waiter first saw
 * that version (at most one poll and a read after the version or the streak began): a lease first
 * seen less than a lease ago is judged on the waiter's own clock alone, so a cold waiter meeting a
 * lease abandoned long ago waits one lease too. (Online, the harness also reports an instance
 * waiting for its own lease.) Applies only when latencies are bounded and skew is within tolerance.
 */
export function checkI5(history: SimHistory): Violation[] {
  if (!history.boundedTiming || !history.skewWithinTolerance) return [];
  const found: Violation[] = [];
  const { leaseMs, maxClockSkewMs, pollMs, storeLegMsMax } = history.timing;
  // The read that just missed the change: its answer, one poll, then a whole read (request and answer).
  const slackMs = Math.round(pollMs * 1.25) + 3 * storeLegMsMax + SLACK_MS;
  const bySeq = appliedBySeq(history);
  // Item versions: [fromMs, toMs) with the record and when its lease was set.
  const versions: { fromMs: number; toMs: number; leaseId: string | undefined; leaseSetAtMs: number }[] = [];
  let fromMs = history.t0Ms;
  let leaseId = history.initialRecord?.leaseId;
  let leaseSetAtMs = history.t0Ms;
  for (const entry of history.storeHistory) {
    const write = bySeq.get(entry.seq);
    const atMs = write?.arrivedAtMs ?? fromMs;
    versions.push({ fromMs, toMs: atMs, leaseId, leaseSetAtMs });
    fromMs = atMs;
    if (entry.after.leaseId !== undefined && entry.request.set.leaseExpiresAtMs !== undefined) leaseSetAtMs = write?.sentAtMs ?? atMs;
    leaseId = entry.after.leaseId;
  }
  versions.push({ fromMs, toMs: Number.POSITIVE_INFINITY, leaseId, leaseSetAtMs });
  for (const [instance, streaks] of waitStreaks(history)) {
    for (const streak of streaks) {
      for (const version of versions) {
        if (version.toMs <= streak.fromMs || version.fromMs >= streak.toMs) continue;
        const startMs = Math.max(version.fromMs, streak.fromMs);
        const freeAtMs = version.leaseId === undefined ? startMs : startMs + slackMs + leaseMs + maxClockSkewMs;
        const frozenMs =
          frozenWithin(history, instance, streak.fromMs, streak.toMs, { stalls: true }) + clockSetBackWithin(history, instance, streak.fromMs, streak.toMs);
        const mustLeaveByMs = freeAtMs + slackMs + frozenMs;
        if (mustLeaveByMs < Math.min(version.toMs, streak.toMs)) {
          const what = version.leaseId === undefined ? 'the item holds no lease' : `lease ${version.leaseId} is stale`;
          found.push(
            v('I5', 'behavioral', mustLeaveByMs, `${instance} still waits at ${rel(history, mustLeaveByMs)} although ${what} since ${rel(history, freeAtMs)} (bound: one poll + a read)`),
          );
          break;
        }
      }
    }
  }
  return found;
}

/** The settle bound of I6: a stale lease to wait out, a refresh, a poll, a retried message. */
export function settleBoundMs(history: SimHistory): number {
  const { leaseMs, maxClockSkewMs, pollMs, authMsMax, storeLegMsMax, chatLegMsMax, maxAttempts } = history.timing;
  return leaseMs + 2 * maxClockSkewMs + 3 * Math.round(pollMs * 1.25) + 2 * authMsMax + 20 * storeLegMsMax + maxAttempts * 2 * chatLegMsMax + 10 * SLACK_MS;
}

/**
 * I6 — settlement: once incidents stop (faults off, nothing in flight, back-off over), the settle
 * phase sends rounds of one message per live instance until a *stable* round: every message goes
 * through at its first attempt with the token the chat API accepts, no `POST /auth` happens, and the
 * store holds exactly that token with no lease. Within tolerance the fleet is stable by the second
 * round (third with `maxAttempts = 1`) and the rounds before spend at most {@link settleBoundMs}
 * converging; beyond
 * tolerance it must still become stable within the rounds allowed. Every live instance ends in
 * `using` or `idle`.
 */
export function checkI6(history: SimHistory): Violation[] {
  const found: Violation[] = [];
  const startMs = history.settleStartMs;
  if (startMs === undefined) return found;
  const endMs = history.endMs;
  const rounds = history.settleRounds;
  const stable = rounds.find((round) => round.stable);
  const apiGeneration = history.apiCurrent?.generation;
  if (stable === undefined) {
    const reasons: string[] = [];
    if (history.apiCurrent === undefined || history.apiCurrent.expired) reasons.push('the chat API accepts no token at all');
    const storedGeneration = tokenGeneration(history.finalRecord?.token);
    if (storedGeneration !== apiGeneration) reasons.push(`the store holds T${storedGeneration ?? '-'} but the chat API accepts only T${apiGeneration ?? '-'}`);
    if (history.finalRecord?.leaseId !== undefined) reasons.push(`the item still holds lease ${history.finalRecord.leaseId}`);
    const lastRound = rounds[rounds.length - 1];
    const lastCalls = history.calls.filter((call) => lastRound?.callIds.includes(call.id) === true);
    for (const call of lastCalls) {
      if (call.outcome === undefined) reasons.push(`${call.instance}'s ${call.messageId} never returned`);
      else if (!call.outcome.ok) reasons.push(`${call.instance}'s ${call.messageId} failed: ${call.outcome.error instanceof Error ? call.outcome.error.message.slice(0, 120) : String(call.outcome.error)}`);
      else if (call.attempts.length > 1) reasons.push(`${call.instance}'s ${call.messageId} needed ${call.attempts.length} attempts`);
    }
    const authInLast = history.issuerCalls.filter((call) => lastRound !== undefined && call.sentAtMs >= lastRound.startMs).length;
    if (authInLast > 0) reasons.push(`${authInLast} POST /auth in the last round`);
    found.push(v('I6', 'behavioral', endMs, `no convergence after ${rounds.length} settle round(s) with every live instance sending: ${reasons.slice(0, 6).join('; ')}${reasons.length > 6 ? '; …' : ''}`));
  } else if (history.boundedTiming && history.skewWithinTolerance) {
    // A round may end before the refresh it triggered; with maxAttempts = 1 a dead cached token and a dead stored token cost one round each.
    const roundsMax = history.timing.maxAttempts >= 2 ? 2 : 3;
    if (stable.round > roundsMax) found.push(v('I6', 'behavioral', stable.startMs, `the fleet needed ${stable.round} settle rounds to converge (expected at most ${roundsMax})`));
    // Time spent converging: in each round before the stable one, from its start to its last activity
    // (a call returning, a write landing, a POST /auth answer). Rounds are demand-driven, so the idle
    // time the harness lets pass between them does not count.
    let convergingMs = 0;
    for (const round of rounds.filter((candidate) => candidate.round < stable.round)) {
      let lastMs = round.startMs;
      const within = (atMs: number | undefined): boolean => atMs !== undefined && atMs >= round.startMs && atMs <= round.endMs;
      for (const call of history.calls) if (round.callIds.includes(call.id) && call.settledAtMs !== undefined) lastMs = Math.max(lastMs, call.settledAtMs);
      for (const write of history.writes) if (write.fate === 'applied' && within(write.arrivedAtMs)) lastMs = Math.max(lastMs, write.arrivedAtMs ?? lastMs);
      for (const call of history.issuerCalls) if (within(call.deliveredAtMs)) lastMs = Math.max(lastMs, call.deliveredAtMs ?? lastMs);
      convergingMs += lastMs - round.startMs;
    }
    const boundMs = settleBoundMs(history);
    if (convergingMs > boundMs) {
      found.push(v('I6', 'behavioral', stable.startMs, `the fleet spent ${convergingMs} ms converging after incidents stopped (bound ${boundMs} ms)`));
    }
  }
  for (const [instance, state] of history.finalStates) {
    if (state !== 'using' && state !== 'idle') found.push(v('I6', 'behavioral', endMs, `${instance} is still "${state}" after settling`));
  }
  return found;
}

/** Counts of the economy invariant. */
export interface Economy {
  readonly incidents: number;
  readonly published: number;
  readonly takeovers: number;
  readonly authIssued: number;
  readonly authCalls: number;
}

export function economyOf(history: SimHistory): Economy {
  const applied = history.writes.filter((write) => write.fate === 'applied');
  return {
    incidents: history.incidents,
    published: applied.filter((write) => write.request.intent === 'publish').length,
    takeovers: applied.filter((write) => write.request.intent === 'take-over').length,
    authIssued: history.issuerCalls.filter((call) => call.generation !== undefined).length,
    authCalls: history.issuerCalls.length,
  };
}

/** Fault kinds under which the strict economy bound (one `POST /auth` per incident, no take-over) must hold. */
const STRICT_ECONOMY_FAULTS = new Set(['invalidate', 'expire', 'lost-write-response', 'lost-write-request', 'failed-read', 'slow-store', 'jump']);

/**
 * I7 — economy: every token the fleet publishes answers an incident (an empty table, an outside
 * invalidation, an expiry) or a take-over (whose stalled holder may land one stale `POST /auth`):
 * published ≤ incidents + take-overs. With no crash, freeze, slow or failing issuer and skew
 * within tolerance: no take-over of a lease its holder still works on, and `POST /auth` calls ≤
 * incidents (exactly one per incident, whatever the number of instances).
 */
export function checkI7(history: SimHistory): Violation[] {
  const found: Violation[] = [];
  const economy = economyOf(history);
  const endMs = history.endMs;
  if (economy.published > economy.incidents + economy.takeovers) {
    found.push(
      v('I7', 'behavioral', endMs, `${economy.published} tokens published for ${economy.incidents} incident(s) and ${economy.takeovers} take-over(s): ${economy.published - economy.incidents - economy.takeovers} refresh(es) too many`),
    );
  }
  const strict = history.skewWithinTolerance && [...history.faultsSeen].every((fault) => STRICT_ECONOMY_FAULTS.has(fault));
  if (strict) {
    const premature = takeoversOfWorkedLeases(history);
    if (premature.length > 0) {
      const first = premature[0];
      found.push(
        v('I7', 'behavioral', first?.atMs ?? endMs, `${premature.length} take-over(s) although no holder crashed, froze, stalled or gave up (first: ${first?.taker ?? '?'} took ${first?.leaseId ?? '?'})`),
      );
    }
    if (economy.authCalls > economy.incidents) {
      found.push(v('I7', 'behavioral', endMs, `${economy.authCalls} POST /auth for ${economy.incidents} incident(s) with a healthy issuer (expected at most one per incident)`));
    }
  }
  return found;
}

/**
 * Take-overs of a lease whose holder was still working on it: not the taker's own lease, and its
 * holder had not gone back to `idle`/`using` (abandoning it, e.g. after giving up on ambiguous
 * writes) between setting it and the take-over.
 */
function takeoversOfWorkedLeases(history: SimHistory): { atMs: number; taker: string; leaseId: string }[] {
  const found: { atMs: number; taker: string; leaseId: string }[] = [];
  const bySeq = appliedBySeq(history);
  for (const write of history.writes) {
    if (write.fate !== 'applied' || write.request.intent !== 'take-over' || write.seq === undefined) continue;
    const leaseId = write.before?.leaseId;
    if (leaseId === undefined || ownsLease(write.writer, leaseId)) continue;
    const holder = holderOf(leaseId);
    const setAtMs = bySeq.get(write.seq - 1)?.sentAtMs ?? history.t0Ms;
    const atMs = write.arrivedAtMs ?? write.sentAtMs;
    const abandoned = history.states.some((change) => change.instance === holder && change.atMs >= setAtMs && change.atMs <= atMs && (change.to === 'idle' || change.to === 'using'));
    if (!abandoned) found.push({ atMs, taker: write.writer, leaseId });
  }
  return found;
}

/**
 * I8 — no lost message: a call that returned was delivered exactly once; a call that failed was
 * not delivered and failed with a {@link BatonError} carrying a code (never a protocol violation);
 * a call cut short by a crash was delivered at most once. No message is ever delivered twice.
 */
export function checkI8(history: SimHistory): Violation[] {
  const found: Violation[] = [];
  const deliveries = new Map(history.delivered.map((message) => [message.messageId, message.deliveries]));
  const codes = new Set<string>(Object.values(ERROR_CODES));
  for (const call of history.calls) {
    const count = deliveries.get(call.messageId) ?? 0;
    const at = call.settledAtMs ?? history.endMs;
    if (count > 1) found.push(v('I8', 'behavioral', at, `${call.messageId} was delivered ${count} times`));
    if (call.outcome === undefined) continue;
    if (call.outcome.ok) {
      if (count !== 1) found.push(v('I8', 'behavioral', at, `${call.instance}'s ${call.messageId} returned success but was delivered ${count} times`));
      continue;
    }
    const error = call.outcome.error;
    if (!(error instanceof BatonError) || !codes.has(error.code)) {
      found.push(v('I8', 'behavioral', at, `${call.instance}'s ${call.messageId} failed without a BatonError code: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`));
    } else if (error.code === ERROR_CODES.PROTOCOL_VIOLATION) {
      found.push(v('I8', 'behavioral', at, `${call.instance}'s ${call.messageId} failed with a protocol violation: ${error.message}`));
    }
    if (count !== 0) found.push(v('I8', 'behavioral', at, `${call.instance}'s ${call.messageId} was delivered but reported as failed`));
  }
  if (history.apiStats.duplicates > 0) found.push(v('I8', 'behavioral', history.endMs, `the chat API saw ${history.apiStats.duplicates} duplicate deliveries`));
  return found;
}

/** Every checker, by invariant. */
export const CHECKERS = {
  I1: checkI1,
  I2: checkI2,
  I3: checkI3,
  I4: checkI4,
  I5: checkI5,
  I6: checkI6,
  I7: checkI7,
  I8: checkI8,
} as const;

export type InvariantName = keyof typeof CHECKERS;

/** All invariants. */
export const ALL_INVARIANTS = Object.keys(CHECKERS) as InvariantName[];

/** Options of {@link checkInvariants}. */
export interface CheckOptions {
  /**
   * Ignore structural findings (the shape of a request), keeping only what actually happened; the
   * mutant test uses it to prove each broken rule is caught by its consequences.
   * @defaultValue `SIM_BEHAVIORAL_ONLY=1` in the environment, else false
   */
  readonly behavioralOnly?: boolean;
}

/** Runs the chosen checkers (default: all) plus the violations found online. */
export function checkInvariants(history: SimHistory, which: readonly InvariantName[] = ALL_INVARIANTS, options: CheckOptions = {}): Violation[] {
  const behavioralOnly = options.behavioralOnly ?? process.env['SIM_BEHAVIORAL_ONLY'] === '1';
  const online = history.online.filter((violation) => (which as readonly string[]).includes(violation.invariant));
  return [...online, ...which.flatMap((name) => CHECKERS[name](history))]
    .filter((violation) => !behavioralOnly || violation.kind === 'behavioral')
    .sort((a, b) => a.atMs - b.atMs);
}

/** The failure report: violations, counts, then the timeline. */
export function formatReport(history: SimHistory, violations: readonly Violation[]): string {
  const economy = economyOf(history);
  const byInvariant = [...new Set(violations.map((violation) => violation.invariant))].sort().join(', ');
  const lines = [
    `${history.protocol}: ${violations.length} violation(s) of ${byInvariant}`,
    ...violations.slice(0, 20).map((violation) => `  ${violation.invariant} (${violation.kind}) at ${rel(history, violation.atMs)}: ${violation.message}`),
    violations.length > 20 ? `  … and ${violations.length - 20} more` : '',
    `  instances ${history.instances.length}, lease ${history.timing.leaseMs} ms, skew ${history.timing.maxClockSkewMs} ms, poll ${history.timing.pollMs} ms; ` +
      `incidents ${economy.incidents}, POST /auth ${economy.authCalls} (issued ${economy.authIssued}), published ${economy.published}, take-overs ${economy.takeovers}; ` +
      `faults: ${[...history.faultsSeen].join(', ') || 'none'}`,
    'timeline (time since start, instance, its state, action, item after it):',
    formatTimeline(history),
  ];
  return lines.filter((line) => line !== '').join('\n');
}

/** Throws a readable error if any chosen invariant is violated. */
export function assertInvariants(history: SimHistory, which: readonly InvariantName[] = ALL_INVARIANTS, options: CheckOptions = {}): void {
  const violations = checkInvariants(history, which, options);
  if (violations.length > 0) throw new Error(formatReport(history, violations));
}
