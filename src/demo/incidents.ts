import type { IncidentMark } from './analysis.js';
import type { PlannedIncident } from './plan.js';
import { sleep } from './sleep.js';

/** Least time between two incidents. */
export const INCIDENT_SPACING_MS_MIN = 3_000;
/**
 * Least age of the newest token when an incident fires: longer than the coordinator's 2 s
 * fresh-token alarm window, so an incident is never mistaken for a second client.
 */
export const TOKEN_AGE_MS_MIN = 2_500;
/** Longest an incident waits for the previous one's new token before firing anyway. */
export const PREVIOUS_SETTLE_WAIT_MS_MAX = 30_000;
/** How often the injector checks whether the first token exists yet. */
export const BOOTSTRAP_POLL_MS = 50;
/** Longest an admin request may take. */
export const ADMIN_TIMEOUT_MS = 5_000;

/** One incident as fired. */
export interface FiredIncident extends IncidentMark {
  /** Planned time, ms after traffic start. */
  readonly plannedOffsetMs: number;
  /** What the admin route answered (e.g. `{ generation }` or `{ expired }`), or the error. */
  readonly answer: unknown;
  /** Whether the admin route answered 200. */
  readonly ok: boolean;
}

/** Options of {@link injectIncidents}. */
export interface InjectorOptions {
  /** Base URL of the fake chat server (admin routes live there). */
  readonly chatUrl: string;
  readonly incidents: readonly PlannedIncident[];
  /** Epoch ms of traffic start. */
  readonly startAtMs: number;
  /** When the newest token was published (epoch ms), once one was. */
  readonly lastPublishAtMs: () => number | undefined;
  readonly signal: AbortSignal;
  readonly onFired?: (incident: FiredIncident) => void;
  readonly now?: () => number;
}

/**
 * Fires each planned incident through the fake chat server's admin routes (`POST
 * /admin/invalidate`: an outside party calls `POST /auth`; `POST /admin/expire`: the current
 * token expires), at its planned time, but only once the fleet has published a token since the
 * previous incident (or at all, for the first), that token is {@link TOKEN_AGE_MS_MIN} old, and
 * {@link INCIDENT_SPACING_MS_MIN} have passed since the previous incident. So incident windows
 * never overlap, even on a loaded machine.
 *
 * @example
 * ```ts
 * const fired = await injectIncidents({ chatUrl, incidents, startAtMs, lastPublishAtMs, signal });
 * ```
 */
export async function injectIncidents(options: InjectorOptions): Promise<FiredIncident[]> {
  const now = options.now ?? Date.now;
  const fired: FiredIncident[] = [];
  let previousMs = Number.NEGATIVE_INFINITY;
  for (const planned of options.incidents) {
    const waitUntilMs = now() + PREVIOUS_SETTLE_WAIT_MS_MAX;
    while ((options.lastPublishAtMs() ?? Number.NEGATIVE_INFINITY) <= previousMs && now() < waitUntilMs) {
      if (!(await sleep(BOOTSTRAP_POLL_MS, options.signal))) return fired;
    }
    const tokenMs = options.lastPublishAtMs() ?? now();
    const dueMs = Math.max(options.startAtMs + planned.offsetMs, previousMs + INCIDENT_SPACING_MS_MIN, tokenMs + TOKEN_AGE_MS_MIN);
    if (!(await sleep(dueMs - now(), options.signal))) return fired;
    const atMs = now();
    previousMs = atMs;
    const result = await admin(`${options.chatUrl}/admin/${planned.kind}`, options.signal);
    const incident: FiredIncident = { kind: planned.kind, atMs, plannedOffsetMs: planned.offsetMs, answer: result.answer, ok: result.ok };
    fired.push(incident);
    options.onFired?.(incident);
  }
  return fired;
}

async function admin(url: string, runSignal: AbortSignal): Promise<{ ok: boolean; answer: unknown }> {
  try {
    const response = await fetch(url, { method: 'POST', signal: AbortSignal.any([runSignal, AbortSignal.timeout(ADMIN_TIMEOUT_MS)]) });
    const text = await response.text();
    let answer: unknown = text;
    try {
      answer = JSON.parse(text) as unknown;
    } catch {
      // keep the text
    }
    return { ok: response.status === 200, answer };
  } catch (error) {
    return { ok: false, answer: error instanceof Error ? error.message : String(error) };
  }
}
