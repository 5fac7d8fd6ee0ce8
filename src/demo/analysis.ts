import type { BatonEvent } from '../runtime/events.js';
import type { IncidentKind } from './plan.js';

/** A coordinator event tagged with the pool lane (worker process) that emitted it. */
export interface LaneEvent {
  readonly lane: string;
  readonly event: BatonEvent;
}

/** An incident as it happened: when the demo fired it. */
export interface IncidentMark {
  readonly kind: IncidentKind;
  /** Epoch ms just before the admin request was sent. */
  readonly atMs: number;
}

/** What one window of the run (the bootstrap, or an incident until the next) cost. */
export interface WindowStats {
  readonly kind: 'bootstrap' | IncidentKind;
  /** Epoch ms the window starts (incident time; for the bootstrap, the first coordinator event). */
  readonly atMs: number;
  /** `POST /auth` calls by the fleet in the window (`issuer-call` events). */
  readonly authCalls: number;
  /** Rejected uses of a token in the window (`token-rejected` events, one per 401). */
  readonly rejections: number;
  /** See {@link settleWindow}; `null` when the window did not settle. */
  readonly settleMs: number | null;
  /** The generation the fleet settled on, if it did. */
  readonly settledGeneration: number | null;
  /**
   * From the window's start until that generation first appears in an event (published, adopted or
   * used: the publisher's confirmation may arrive after a follower already read the item).
   */
  readonly publishMs: number | null;
  /**
   * Longest time one instance spent between its first rejection in the window and its first use of
   * the settled generation: the protocol's own cost, without the wait for traffic to reach it.
   */
  readonly recoverMsMax: number | null;
  /** Lanes that saw a rejection in the window. */
  readonly rejectedLanes: readonly string[];
  /** Why it did or did not settle, in words. */
  readonly detail: string;
}

/** Counts over the whole run, from the events. */
export interface EventTotals {
  readonly authCalls: number;
  readonly authIssued: number;
  readonly rejections: number;
  readonly ddbReads: number;
  readonly ddbWrites: number;
  readonly ddbWritesApplied: number;
  readonly ddbWritesConditionFailed: number;
  readonly takeovers: number;
  readonly fenced: number;
  readonly alarms: number;
  readonly publishes: number;
  readonly tokenUses: number;
}

/**
 * Sorts events by time (stable: same-millisecond events keep their arrival order).
 *
 * @example
 * ```ts
 * const ordered = byTime(collected);
 * ```
 */
export function byTime(events: readonly LaneEvent[]): LaneEvent[] {
  return events
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => a.entry.event.atMs - b.entry.event.atMs || a.index - b.index)
    .map(({ entry }) => entry);
}

/**
 * Totals of the run, counted from the events.
 *
 * @example
 * ```ts
 * countTotals(events).ddbReads;
 * ```
 */
export function countTotals(events: readonly LaneEvent[]): EventTotals {
  const totals = {
    authCalls: 0,
    authIssued: 0,
    rejections: 0,
    ddbReads: 0,
    ddbWrites: 0,
    ddbWritesApplied: 0,
    ddbWritesConditionFailed: 0,
    takeovers: 0,
    fenced: 0,
    alarms: 0,
    publishes: 0,
    tokenUses: 0,
  };
  for (const { event } of events) {
    switch (event.type) {
      case 'issuer-call':
        totals.authCalls += 1;
        if (event.outcome === 'issued') totals.authIssued += 1;
        break;
      case 'token-rejected':
        totals.rejections += 1;
        break;
      case 'store-read':
        totals.ddbReads += 1;
        break;
      case 'store-write':
        totals.ddbWrites += 1;
        if (event.outcome === 'applied') totals.ddbWritesApplied += 1;
        if (event.outcome === 'condition-failed') totals.ddbWritesConditionFailed += 1;
        break;
      case 'takeover':
        totals.takeovers += 1;
        break;
      case 'fenced':
        totals.fenced += 1;
        break;
      case 'alarm':
        totals.alarms += 1;
        break;
      case 'token-published':
        totals.publishes += 1;
        break;
      case 'token-used':
        totals.tokenUses += 1;
        break;
      case 'state':
      case 'token-adopted':
        break;
    }
  }
  return totals;
}

/**
 * Splits the run into the bootstrap window (start → first incident) and one window per incident
 * (incident → next incident, or run end), and measures each.
 *
 * @example
 * ```ts
 * const [bootstrap, ...incidents] = analyzeWindows(events, marks, endMs);
 * ```
 */
export function analyzeWindows(events: readonly LaneEvent[], incidents: readonly IncidentMark[], endMs: number): WindowStats[] {
  const ordered = byTime(events);
  const marks = [...incidents].sort((a, b) => a.atMs - b.atMs);
  const firstIncidentMs = marks[0]?.atMs ?? Number.POSITIVE_INFINITY;
  const bootstrapEvents = ordered.filter(({ event }) => event.atMs < firstIncidentMs);
  const windows: WindowStats[] = [settleBootstrap(bootstrapEvents)];
  marks.forEach((mark, index) => {
    const untilMs = marks[index + 1]?.atMs ?? Math.max(endMs, mark.atMs) + 1;
    const inWindow = ordered.filter(({ event }) => event.atMs >= mark.atMs && event.atMs < untilMs);
    windows.push(settleWindow(mark, inWindow));
  });
  return windows;
}

/**
 * Bootstrap: from the first coordinator event until the first `token-used` of the first
 * published generation (cold start to a token in use).
 *
 * @example
 * ```ts
 * settleBootstrap(eventsBeforeFirstIncident).settleMs;
 * ```
 */
export function settleBootstrap(events: readonly LaneEvent[]): WindowStats {
  const first = events[0];
  const base = { kind: 'bootstrap' as const, authCalls: count(events, 'issuer-call'), rejections: count(events, 'token-rejected') };
  if (first === undefined) {
    return { ...base, atMs: 0, settleMs: null, settledGeneration: null, publishMs: null, recoverMsMax: null, rejectedLanes: [], detail: 'no coordinator event before the first incident' };
  }
  const published = events.find(({ event }) => event.type === 'token-published');
  const generation = published?.event.type === 'token-published' ? published.event.generation : undefined;
  const used = generation === undefined ? undefined : events.find(({ event }) => event.type === 'token-used' && event.generation === generation);
  const rejectedLanes = lanesOf(events.filter(({ event }) => event.type === 'token-rejected'));
  if (used === undefined || generation === undefined) {
    return { ...base, atMs: first.event.atMs, settleMs: null, settledGeneration: null, publishMs: null, recoverMsMax: null, rejectedLanes, detail: 'no token was published and used before the first incident' };
  }
  return {
    ...base,
    atMs: first.event.atMs,
    settleMs: used.event.atMs - first.event.atMs,
    settledGeneration: generation,
    publishMs: (firstSeenMs(events, generation) ?? used.event.atMs) - first.event.atMs,
    recoverMsMax: null,
    rejectedLanes,
    detail: `generation ${generation} published by ${published?.lane ?? '?'} and first used by ${used.lane}`,
  };
}

/**
 * Settle time of one incident, from the events of its window (incident → next incident).
 *
 * Definition: the *settled generation* g* is the highest generation used in the window that was
 * never rejected in the window (the token the chat API accepts). Every lane that saw a token of a
 * generation below g* rejected in the window must later, in the window, use a generation ≥ g*.
 * The settle time is from the incident to the last such first use. The window does not settle
 * (`settleMs: null`) if no lane saw a rejection (the incident went unnoticed), if no accepted
 * generation was used, or if a rejected lane never used it.
 *
 * @example
 * ```ts
 * settleWindow({ kind: 'invalidate', atMs: 1_000 }, events).settleMs; // e.g. 412
 * ```
 */
export function settleWindow(mark: IncidentMark, events: readonly LaneEvent[]): WindowStats {
  const base = { kind: mark.kind, atMs: mark.atMs, authCalls: count(events, 'issuer-call'), rejections: count(events, 'token-rejected') };
  const rejectedGenerations = new Set<number>();
  for (const { event } of events) if (event.type === 'token-rejected') rejectedGenerations.add(event.generation);
  let settled: number | undefined;
  for (const { event } of events) {
    if (event.type === 'token-used' && !rejectedGenerations.has(event.generation)) settled = Math.max(settled ?? event.generation, event.generation);
  }
  const rejectedLanes = lanesOf(events.filter(({ event }) => event.type === 'token-rejected'));
  const seenMs = settled === undefined ? undefined : firstSeenMs(events, settled);
  const publishMs = seenMs === undefined ? null : seenMs - mark.atMs;
  if (rejectedLanes.length === 0) {
    return { ...base, settleMs: null, settledGeneration: settled ?? null, publishMs, recoverMsMax: null, rejectedLanes, detail: 'no instance saw a rejection after the incident' };
  }
  if (settled === undefined) {
    return { ...base, settleMs: null, settledGeneration: null, publishMs, recoverMsMax: null, rejectedLanes, detail: 'no accepted generation was used after the incident' };
  }
  const target = settled;
  let recoverMsMax = 0;
  let lastMs = mark.atMs;
  let lastLane = '';
  const stuck: string[] = [];
  const lanes = lanesOf(events.filter(({ event }) => event.type === 'token-rejected' && event.generation < target));
  for (const lane of lanes) {
    const own = events.filter((entry) => entry.lane === lane);
    let lastRejectMs = Number.NEGATIVE_INFINITY;
    let firstRejectMs: number | undefined;
    for (const { event } of own) {
      if (event.type !== 'token-rejected' || event.generation >= target) continue;
      lastRejectMs = event.atMs;
      firstRejectMs ??= event.atMs;
    }
    const good = own.find(({ event }) => event.type === 'token-used' && event.generation >= target && event.atMs >= lastRejectMs);
    if (good === undefined) {
      stuck.push(lane);
      continue;
    }
    recoverMsMax = Math.max(recoverMsMax, good.event.atMs - (firstRejectMs ?? good.event.atMs));
    if (good.event.atMs >= lastMs) {
      lastMs = good.event.atMs;
      lastLane = lane;
    }
  }
  if (stuck.length > 0) {
    return { ...base, settleMs: null, settledGeneration: target, publishMs, recoverMsMax: null, rejectedLanes, detail: `lanes ${stuck.join(', ')} saw a rejection but never used generation ${target} before the window ended` };
  }
  return {
    ...base,
    settleMs: lastMs - mark.atMs,
    settledGeneration: target,
    publishMs,
    recoverMsMax,
    rejectedLanes,
    detail: `${lanes.length} lane(s) rejected the old token; the last to use generation ${target} was ${lastLane}`,
  };
}

/** Time of the first event carrying `generation` (published, adopted or used). */
function firstSeenMs(events: readonly LaneEvent[], generation: number): number | undefined {
  for (const { event } of events) {
    if ((event.type === 'token-published' || event.type === 'token-adopted' || event.type === 'token-used') && event.generation === generation) return event.atMs;
  }
  return undefined;
}

function count(events: readonly LaneEvent[], type: BatonEvent['type']): number {
  let total = 0;
  for (const { event } of events) if (event.type === type) total += 1;
  return total;
}

function lanesOf(events: readonly LaneEvent[]): string[] {
  return [...new Set(events.map(({ lane }) => lane))].sort();
}
