import type { BatonEvent } from '../runtime/events.js';
import type { LaneEvent } from './analysis.js';

/** Most events kept; beyond that they are counted and dropped (the report says so). */
export const EVENTS_MAX = 1_000_000;

/**
 * Whether an IPC payload looks like a {@link BatonEvent} (type, instance and time present).
 *
 * @example
 * ```ts
 * isBatonEvent({ type: 'state', instanceId: 'i01', atMs: 1, from: 'idle', to: 'using' }); // true
 * ```
 */
export function isBatonEvent(raw: unknown): raw is BatonEvent {
  if (typeof raw !== 'object' || raw === null) return false;
  const candidate = raw as { type?: unknown; instanceId?: unknown; atMs?: unknown };
  return typeof candidate.type === 'string' && typeof candidate.instanceId === 'string' && typeof candidate.atMs === 'number' && Number.isFinite(candidate.atMs);
}

/** Collects forwarded events (bounded) and keeps live counters for the progress line. */
export class EventLog {
  readonly #events: LaneEvent[] = [];
  #dropped = 0;
  #malformed = 0;
  #authCalls = 0;
  #firstPublishAtMs: number | undefined;
  #lastPublishAtMs: number | undefined;

  /** Takes one raw forwarded event from `lane`. */
  add(lane: string, raw: unknown): void {
    if (!isBatonEvent(raw)) {
      this.#malformed += 1;
      return;
    }
    if (raw.type === 'issuer-call') this.#authCalls += 1;
    if (raw.type === 'token-published') {
      this.#firstPublishAtMs ??= raw.atMs;
      this.#lastPublishAtMs = Math.max(this.#lastPublishAtMs ?? raw.atMs, raw.atMs);
    }
    if (this.#events.length >= EVENTS_MAX) {
      this.#dropped += 1;
      return;
    }
    this.#events.push({ lane, event: raw });
  }

  /** Every kept event, in arrival order. */
  events(): readonly LaneEvent[] {
    return this.#events;
  }

  /** Events dropped over {@link EVENTS_MAX}, and payloads that were not events. */
  losses(): { readonly dropped: number; readonly malformed: number } {
    return { dropped: this.#dropped, malformed: this.#malformed };
  }

  /** `POST /auth` calls seen so far. */
  authCalls(): number {
    return this.#authCalls;
  }

  /** When the newest token was published, once one was. */
  lastPublishAtMs(): number | undefined {
    return this.#lastPublishAtMs;
  }

  /** When the first token was published, once it was. */
  firstPublishAtMs(): number | undefined {
    return this.#firstPublishAtMs;
  }
}
