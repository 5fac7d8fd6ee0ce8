import type { Rng } from './rng.js';

/** One webhook the fake chat service will deliver. */
export interface PlannedMessage {
  readonly messageId: string;
  readonly room: string;
  readonly user: string;
  readonly text: string;
  /** When it should arrive, ms after the start of traffic. */
  readonly offsetMs: number;
}

/** Kinds of injected incident. */
export const INCIDENT_KINDS = ['invalidate', 'expire'] as const;
/** One of {@link INCIDENT_KINDS}. */
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

/** One planned incident. */
export interface PlannedIncident {
  readonly kind: IncidentKind;
  /** When it should happen, ms after the start of traffic. */
  readonly offsetMs: number;
}

/** Share of messages that arrive in bursts (the rest arrive uniformly): bursts make the pool scale out. */
export const BURST_SHARE = 0.4;
/** One burst every this many ms of spread, on average. */
export const BURST_EVERY_MS = 2_500;
/** Width of one burst. */
export const BURST_WIDTH_MS = 120;
/** Incident jitter, as a share of the spacing between incidents (±). */
export const INCIDENT_JITTER_SHARE = 0.15;

const ROOMS = ['#general', '#random', '#deploys', '#support', '#design', '#oncall', '#sales', '#lunch'] as const;
const USERS = ['ada', 'bob', 'chen', 'dee', 'eli', 'fay', 'gus', 'hana', 'ivo', 'jun', 'kai', 'lea', 'mo', 'nia', 'oz', 'pia'] as const;
const OPENERS = ['hey', 'quick question', 'fyi', 'heads up', 'thanks', 'ping', 'reminder', 'update'] as const;
const TOPICS = ['the deploy', 'PR review', 'standup', 'the incident', 'lunch', 'the roadmap', 'on-call', 'the build', 'release notes', 'the demo'] as const;
const ENDINGS = ['?', '!', '.', ' :)', ' — any ideas?', ' (urgent)', ''] as const;

/**
 * The seeded list of webhooks: ids, rooms, users, texts and arrival offsets (sorted). About
 * {@link BURST_SHARE} of them arrive in short bursts, so more instances than the average rate
 * needs are busy at once and the pool scales out the way Lambda does.
 *
 * @example
 * ```ts
 * planMessages(createRng(7).fork('messages'), 120, 10_000)[0]; // { messageId: 'msg-00001', ... }
 * ```
 */
export function planMessages(rng: Rng, count: number, spreadMs: number): PlannedMessage[] {
  const burstCount = Math.max(1, Math.round(spreadMs / BURST_EVERY_MS));
  const burstCenters = Array.from({ length: burstCount }, () => rng.next() * spreadMs);
  const offsets: number[] = [];
  for (let index = 0; index < count; index += 1) {
    if (rng.next() < BURST_SHARE) {
      const center = rng.pick(burstCenters);
      offsets.push(clamp(center + (rng.next() - 0.5) * BURST_WIDTH_MS, 0, spreadMs));
    } else {
      offsets.push(rng.next() * spreadMs);
    }
  }
  offsets.sort((a, b) => a - b);
  const digits = Math.max(5, String(count).length);
  return offsets.map((offsetMs, index) => ({
    messageId: `msg-${String(index + 1).padStart(digits, '0')}`,
    room: rng.pick(ROOMS),
    user: rng.pick(USERS),
    text: `${rng.pick(OPENERS)}, ${rng.pick(TOPICS)}${rng.pick(ENDINGS)}`,
    offsetMs: Math.round(offsetMs),
  }));
}

/**
 * `count` incidents spread evenly over `spreadMs` (the k-th at (k + ½)/count of it), each moved
 * by seeded jitter of up to ±{@link INCIDENT_JITTER_SHARE} of the spacing; kinds alternate,
 * starting with `invalidate`.
 *
 * @example
 * ```ts
 * planIncidents(createRng(7).fork('incidents'), 2, 10_000); // [{ kind: 'invalidate', offsetMs: ~2500 }, { kind: 'expire', offsetMs: ~7500 }]
 * ```
 */
export function planIncidents(rng: Rng, count: number, spreadMs: number): PlannedIncident[] {
  if (count === 0) return [];
  const spacingMs = spreadMs / count;
  return Array.from({ length: count }, (_, index) => {
    const jitterMs = (rng.next() * 2 - 1) * INCIDENT_JITTER_SHARE * spacingMs;
    const kind = INCIDENT_KINDS[index % INCIDENT_KINDS.length] ?? 'invalidate';
    return { kind, offsetMs: Math.round(clamp((index + 0.5) * spacingMs + jitterMs, 0, spreadMs)) };
  });
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
