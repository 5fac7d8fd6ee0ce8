import { EXPECTED_PUBLISH_MARGIN_FRACTION, FAST_POLL_FRACTION, POLL_JITTER_MAX_FRACTION, POLL_JITTER_MIN_FRACTION } from './config.js';
import { adoptable, backoffActive, cachedUsable } from './predicates.js';
import type { TokenRecord, WriteRequest } from './record.js';
import { ISSUER_UNAVAILABLE_CODE } from './record.js';
import { PROTOCOL_RULES } from './rules.js';
import type { ProtocolRules } from './rules.js';
import type { Decision, Failure, LeaseView, MachineContext, ObservedLease } from './types.js';

/** The machine's one decision point: what to do with the item just observed. */
export interface Verdict {
  readonly decision: Decision;
  /** Lease-observation bookkeeping to keep (for the own-clock staleness rule). */
  readonly observed: ObservedLease | undefined;
  /** Whether a token this instance got from the issuer was fenced out. */
  readonly fenced: boolean;
  /** Whether this instance still holds (or is recognised as holding) its lease. */
  readonly holder: boolean;
  /**
   * Set when the lease this instance was watching moved on (renewed, published or released by its
   * holder) although its stated end plus `maxClockSkewMs` had passed by this instance's clock
   * before it had watched the lease for one lease: the wall-clock rule would have taken over a
   * live lease. The clocks disagree by more than `maxClockSkewMs` (or the holder froze).
   */
  readonly clockSkew: { readonly leaseId: string; readonly holder: string | undefined; readonly pastEndMs: number } | undefined;
  /** How long the refresh of the lease this instance was watching took, when the item just showed its token. */
  readonly refreshMs: number | undefined;
}

/**
 * Decides what to do next given the item as it stands. Pure: the same context, item and time
 * always give the same verdict. The order of the rules is the protocol:
 *
 * 1. our issued token is in the item → published;
 * 2. the item names our lease → we are the holder (publish what we hold, or refresh);
 *    (only then the round limit: an episode out of rounds fails its callers, but never forgets
 *    a lease it holds or a token it published);
 * 3. the item holds an unexpired token other than the one we must replace → adopt it;
 * 4. a proactive refresh finds someone else on it (or a back-off) → keep using our token;
 * 5. a recorded issuer back-off is running → fail fast, no `POST /auth`;
 * 6. a lease is stored → take it over if stale, else wait;
 * 7. otherwise claim, conditioned on the generation we saw and on no lease.
 *
 * @example
 * ```ts
 * const { decision } = decide(context, record, nowMs);
 * ```
 */
export function decide(context: MachineContext, record: TokenRecord | undefined, nowMs: number, rules: ProtocolRules = PROTOCOL_RULES): Verdict {
  const observed = observeLease(context.observed, record, nowMs);
  const mine = context.pendingLease ?? context.lease;
  const base = { observed, fenced: false, holder: false, clockSkew: skewShown(context, record, observed, nowMs), refreshMs: refreshShown(context, record) };

  // Rules 1–2 come before the round limit: an episode that gives up must never forget a lease it
  // holds or a token it published (everyone else would wait a whole lease on nobody). What follows
  // them is bounded by other limits: issuer attempts, ambiguous writes.
  if (context.issued !== undefined && record?.token === context.issued.token) {
    return { ...base, decision: { kind: 'published' } };
  }
  if (mine !== undefined && record?.leaseId === mine.id) {
    return { ...base, holder: true, decision: { kind: context.issued === undefined ? 'refresh' : 'publish' } };
  }
  if (context.rounds >= context.config.roundsMax) {
    const message = `no usable token after ${context.rounds} protocol rounds (the limit); the item stays as it is`;
    return { ...base, decision: { kind: 'fail', failure: { kind: 'round-limit', message } } };
  }
  const fenced = context.issued !== undefined;
  const verdict = (decision: Decision): Verdict => ({ ...base, fenced, decision });

  if (adoptable(record, context.replaceToken, nowMs)) return verdict({ kind: 'adopt' });
  const busy = record?.leaseId !== undefined || backoffActive(record, nowMs);
  if (context.proactive && busy && cachedUsable(context, nowMs)) return verdict({ kind: 'keep' });
  if (record !== undefined && backoffActive(record, nowMs)) return verdict({ kind: 'fail', failure: backoffFailure(record) });
  if (record !== undefined && observed !== undefined) {
    const stale = rules.takeOver && leaseIsStale(context, record, observed, nowMs);
    return verdict(stale ? takeOver(context, observed, nowMs) : wait(context, observed, nowMs, rules));
  }
  return verdict(claim(context, record, nowMs, rules));
}

/**
 * Keeps the first own-clock sighting of an unchanged lease; a new lease or any write restarts it
 * (a renewal of the same lease keeps when the lease was first taken, for timing polls only).
 */
function observeLease(previous: ObservedLease | undefined, record: TokenRecord | undefined, nowMs: number): ObservedLease | undefined {
  if (record?.leaseId === undefined) return undefined;
  if (previous !== undefined && previous.leaseId === record.leaseId && previous.revision === record.revision) return previous;
  const acquiredAtMs = previous?.leaseId === record.leaseId ? previous.acquiredAtMs : record.leaseAcquiredAtMs;
  return { leaseId: record.leaseId, revision: record.revision, sinceMs: nowMs, holder: record.leaseHolder, expiresAtMs: record.leaseExpiresAtMs, acquiredAtMs };
}

/**
 * How long a refresh took on its holder's clock, from taking the lease to the token issued;
 * undefined when the times do not fit (no publish in between, or not within a lease).
 *
 * @example
 * ```ts
 * refreshDurationMs(1_000, 1_320, 10_000); // 320
 * ```
 */
export function refreshDurationMs(acquiredAtMs: number | undefined, issuedAtMs: number | undefined, leaseMs: number): number | undefined {
  if (acquiredAtMs === undefined || issuedAtMs === undefined) return undefined;
  const durationMs = issuedAtMs - acquiredAtMs;
  return durationMs >= 0 && durationMs <= leaseMs ? durationMs : undefined;
}

/** The duration of the refresh this instance was watching, once the item shows its token (the lease gone). */
function refreshShown(context: MachineContext, record: TokenRecord | undefined): number | undefined {
  const watched = context.observed;
  if (watched === undefined || record?.token === undefined || record.leaseId === watched.leaseId) return undefined;
  return refreshDurationMs(watched.acquiredAtMs, record.tokenIssuedAtMs, context.config.leaseMs);
}

/**
 * Whether the lease this instance was watching just moved on in a way that proves its wall-clock
 * judgement wrong: the same lease renewed, or no lease any more (published or released), while
 * by this instance's clock its stated end plus the skew allowance had passed less than one lease
 * into the watch. A takeover by a third instance (another lease id) proves nothing and is ignored,
 * as are this instance's own leases.
 */
function skewShown(context: MachineContext, record: TokenRecord | undefined, observed: ObservedLease | undefined, nowMs: number): Verdict['clockSkew'] {
  const watched = context.observed;
  if (watched === undefined || watched === observed || watched.expiresAtMs === undefined) return undefined;
  if (watched.leaseId.startsWith(`${context.instanceId}.${context.nonce}#`)) return undefined;
  if (record?.leaseId !== undefined && record.leaseId !== watched.leaseId) return undefined;
  const { leaseMs, maxClockSkewMs } = context.config;
  const pastEndMs = nowMs - watched.expiresAtMs;
  if (pastEndMs < maxClockSkewMs || nowMs - watched.sinceMs >= leaseMs) return undefined;
  return { leaseId: watched.leaseId, holder: watched.holder, pastEndMs };
}

/**
 * A lease is stale when this instance has seen it unchanged for a whole lease plus the skew
 * allowance on its own clock (the observation rule: safe under any clock offset, because the
 * holder's own timer started before the lease was written), or — once it has watched it for a
 * whole lease — when its wall-clock end plus the skew allowance has passed. The wall-clock rule
 * is never trusted alone: an instance whose clock runs more than a lease ahead would otherwise
 * take over every fresh lease at once, and the displaced holder's late `POST /auth` would kill
 * the token just published, round after round. Either way publishing stays fenced, so a
 * misjudgement costs one extra `POST /auth`, never a wrong token.
 */
function leaseIsStale(context: MachineContext, record: TokenRecord, observed: ObservedLease, nowMs: number): boolean {
  const { leaseMs, maxClockSkewMs } = context.config;
  const watchedMs = nowMs - observed.sinceMs;
  if (watchedMs >= leaseMs + maxClockSkewMs) return true;
  return watchedMs >= leaseMs && record.leaseExpiresAtMs !== undefined && nowMs >= record.leaseExpiresAtMs + maxClockSkewMs;
}

/**
 * A follower's next poll. Normally `pollMs` ± jitter. When it can predict the publish (it saw how
 * long the last refresh took), it aims a poll just after that moment if it comes before the normal
 * poll, and polls faster for one `pollMs` after it: followers learn the token within a few store
 * round trips of the publish, with no more reads than the normal pace. A wrong prediction costs a
 * few fast reads, never a longer sleep. Never sleeps past the moment the lease would count as
 * stale: a crashed holder is replaced promptly.
 */
function wait(context: MachineContext, observed: ObservedLease, nowMs: number, rules: ProtocolRules): Decision {
  const { pollMs, leaseMs, maxClockSkewMs } = context.config;
  const staleAtMs = rules.takeOver ? observed.sinceMs + leaseMs + maxClockSkewMs : Number.POSITIVE_INFINITY;
  const untilStaleMs = Math.max(1, staleAtMs - nowMs);
  const [paceMsMin, paceMsMax] = pollWindow(context, observed, nowMs);
  const delayMsMax = Math.min(paceMsMax, untilStaleMs);
  const delayMsMin = Math.min(paceMsMin, delayMsMax);
  return { kind: 'wait', delayMsMin, delayMsMax };
}

/** `[min, max]` delay of the next poll before the staleness clamp (see {@link wait}). */
function pollWindow(context: MachineContext, observed: ObservedLease, nowMs: number): readonly [number, number] {
  const { pollMs } = context.config;
  const normal = [Math.round(pollMs * POLL_JITTER_MIN_FRACTION), Math.round(pollMs * POLL_JITTER_MAX_FRACTION)] as const;
  const expectedMs = context.refreshMsSeen;
  if (expectedMs === undefined || observed.acquiredAtMs === undefined) return normal;
  // On this clock the lease began no later than its first sighting (the holder's clock may run ahead).
  const startedAtMs = Math.min(observed.acquiredAtMs, observed.sinceMs);
  const pollAtMs = startedAtMs + expectedMs + Math.round(pollMs * EXPECTED_PUBLISH_MARGIN_FRACTION);
  const fastMs = Math.max(1, Math.round(pollMs * FAST_POLL_FRACTION));
  if (nowMs < pollAtMs) {
    const untilMs = pollAtMs - nowMs;
    return untilMs < normal[0] ? [untilMs, untilMs + Math.round(fastMs * (POLL_JITTER_MAX_FRACTION - POLL_JITTER_MIN_FRACTION))] : normal;
  }
  if (nowMs < pollAtMs + pollMs) return [Math.round(fastMs * POLL_JITTER_MIN_FRACTION), Math.round(fastMs * POLL_JITTER_MAX_FRACTION)];
  return normal;
}

function nextLease(context: MachineContext, nowMs: number, takenBy: LeaseView['takenBy'], staleHolder: string | undefined): LeaseView {
  const id = `${context.instanceId}.${context.nonce}#${context.leaseCounter + 1}`;
  return { id, startedAtMs: nowMs, acquiredAtMs: nowMs, expiresAtMs: nowMs + context.config.leaseMs, takenBy, staleHolder };
}

function leaseFields(context: MachineContext, lease: LeaseView): WriteRequest['set'] {
  return { leaseId: lease.id, leaseHolder: context.instanceId, leaseAcquiredAtMs: lease.startedAtMs, leaseExpiresAtMs: lease.expiresAtMs };
}

function claim(context: MachineContext, record: TokenRecord | undefined, nowMs: number, rules: ProtocolRules): Decision {
  const lease = nextLease(context, nowMs, 'claim', undefined);
  const condition = rules.versionedClaim ? { exists: true, generation: record?.generation ?? 0, leaseId: null } : { exists: true, leaseId: null };
  const request: WriteRequest =
    record === undefined
      ? { intent: 'claim', condition: { exists: false }, set: { generation: 0, ...leaseFields(context, lease) }, remove: [] }
      : { intent: 'claim', condition, set: leaseFields(context, lease), remove: [] };
  return { kind: 'claim', request, lease };
}

function takeOver(context: MachineContext, observed: ObservedLease, nowMs: number): Decision {
  const lease = nextLease(context, nowMs, 'take-over', observed.holder);
  const request: WriteRequest = {
    intent: 'take-over',
    condition: { exists: true, leaseId: observed.leaseId, revision: observed.revision },
    set: leaseFields(context, lease),
    remove: [],
  };
  return { kind: 'take-over', request, lease, staleHolder: observed.holder };
}

function backoffFailure(record: TokenRecord): Failure {
  const until = record.backoffUntilMs ?? 0;
  if (record.failureCode === ISSUER_UNAVAILABLE_CODE) {
    return {
      kind: 'issuer-unavailable',
      backoffUntilMs: until,
      message:
        `POST /auth gave no usable answer (5xx, timeout or lost answer) on every attempt of the last refresh; ` +
        `the fleet retries after ${new Date(until).toISOString()}.`,
    };
  }
  const status = record.failureStatus === undefined ? '' : ` (HTTP ${record.failureStatus})`;
  return {
    kind: 'issuer-refused',
    status: record.failureStatus,
    backoffUntilMs: until,
    message:
      `the token issuer refused the credentials${status} ${record.failureCount ?? 1} time(s) in a row; ` +
      `the fleet will not call POST /auth again before ${new Date(until).toISOString()}. Check the auth secret.`,
  };
}
