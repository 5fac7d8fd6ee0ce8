/**
 * Per-incident measurements and how they become one {@link BenchResult} row.
 */
import { meanOrNull, percentile } from './percentile.js';
import type { BenchMode, BenchResult, ScenarioName } from './result.js';
import type { StrategyName } from './strategy.js';

/** What one incident cost, counted at the simulated (or real) services, not by the strategies. */
export interface IncidentCounts {
  /** `POST /auth` calls made by the fleet (the outside invalidation itself is not counted). */
  readonly authCalls: number;
  /** 401 answers of the chat API. */
  readonly rejections: number;
  /** DynamoDB reads (`GetItem`). */
  readonly ddbReads: number;
  /** DynamoDB writes (`PutItem`, `UpdateItem`, `DeleteItem`), applied or not. */
  readonly ddbWrites: number;
  /** Messages a live instance gave up on (or that never finished before the window closed). */
  readonly lostMessages: number;
}

/** One incident: its counts plus the settle-time percentiles over the live instances. */
export interface IncidentMeasure extends IncidentCounts {
  readonly settleMsP50: number | null;
  readonly settleMsP99: number | null;
}

/** Which run a set of incidents belongs to. */
export interface RunKey {
  readonly strategy: StrategyName;
  readonly scenario: ScenarioName;
  readonly mode: BenchMode;
  readonly instances: number;
}

/**
 * Settle time of each live instance for one incident: from the incident until that instance's
 * first delivered message with the token the chat API accepts at the end of the incident
 * (`firstUseAtMs`, `undefined` when it never delivered with it). An instance that adopted the
 * accepted token before the incident (a proactive refresh) settled at 0. Unsettled instances
 * are `Infinity` so percentiles cannot hide them.
 *
 * @example
 * ```ts
 * settleTimesMs(1_000, [1_300, 900, undefined]); // [300, 0, Infinity]
 * ```
 */
export function settleTimesMs(incidentAtMs: number, firstUseAtMs: readonly (number | undefined)[]): number[] {
  return firstUseAtMs.map((atMs) => (atMs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, atMs - incidentAtMs)));
}

/**
 * Builds one incident's measure from its counts and settle times.
 *
 * @example
 * ```ts
 * measureIncident(counts, [300, 320]); // { ...counts, settleMsP50: 300, settleMsP99: 320 }
 * ```
 */
export function measureIncident(counts: IncidentCounts, settleMs: readonly number[]): IncidentMeasure {
  return { ...counts, settleMsP50: percentile(settleMs, 50), settleMsP99: percentile(settleMs, 99) };
}

/** Rounds to 0.01 so reports are stable and readable. */
function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Averages incidents into one result row: counts and settle percentiles per incident (settle
 * `null` when any incident did not settle), lost messages summed over the run.
 *
 * @example
 * ```ts
 * summarizeIncidents({ strategy: 'baton', scenario: 'invalidation-burst', mode: 'virtual', instances: 10 }, measures);
 * ```
 */
export function summarizeIncidents(key: RunKey, incidents: readonly IncidentMeasure[]): BenchResult {
  const count = Math.max(1, incidents.length);
  const per = (pick: (m: IncidentMeasure) => number): number => round2(incidents.reduce((sum, m) => sum + pick(m), 0) / count);
  const p50 = meanOrNull(incidents.map((m) => m.settleMsP50));
  const p99 = meanOrNull(incidents.map((m) => m.settleMsP99));
  return {
    strategy: key.strategy,
    scenario: key.scenario,
    mode: key.mode,
    instances: key.instances,
    authCallsPerIncident: per((m) => m.authCalls),
    rejectionsPerIncident: per((m) => m.rejections),
    ddbReadsPerIncident: per((m) => m.ddbReads),
    ddbWritesPerIncident: per((m) => m.ddbWrites),
    settleMsP50: p50 === null ? null : round2(p50),
    settleMsP99: p99 === null ? null : round2(p99),
    lostMessages: incidents.reduce((sum, m) => sum + m.lostMessages, 0),
  };
}
