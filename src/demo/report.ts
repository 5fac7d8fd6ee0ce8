import type { ChatApiStats, DeliveredMessage } from '../fake/chat-api.js';
import type { EventTotals, WindowStats } from './analysis.js';
import type { DemoOptions } from './args.js';
import type { DeliveryRecord } from './driver.js';
import type { FiredIncident } from './incidents.js';
import { summarize } from './percentile.js';
import type { Percentiles } from './percentile.js';
import type { PoolStats } from './pool.js';

/** One checked property of the run. */
export interface Invariant {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** One window of the report; `atMs` counts from the start of traffic. */
export interface ReportWindow {
  readonly kind: WindowStats['kind'];
  readonly atMs: number;
  readonly authCalls: number;
  readonly rejections: number;
  readonly settleMs: number | null;
  readonly settledGeneration: number | null;
  /** From `atMs` until the new generation first appears in an event (published, adopted or used). */
  readonly publishMs: number | null;
  /** Longest rejection → first-use-of-the-new-token time of one instance. */
  readonly recoverMsMax: number | null;
  readonly rejectedInstances: number;
  readonly detail: string;
}

/** `reports/demo.json`. */
export interface DemoReport {
  readonly seed: number;
  readonly instances: number;
  readonly durationMs: number;
  readonly startedAt: string;
  readonly options: {
    readonly messages: number;
    readonly incidents: number;
    readonly authLatencyMs: number;
    readonly messageLatencyMs: number;
    readonly spreadMs: number;
    readonly dynamodb: string;
  };
  readonly messages: {
    readonly sent: number;
    readonly delivered: number;
    readonly failed: number;
    readonly refused: number;
    readonly duplicates: number;
    readonly redeliveries: number;
    readonly notSentAnswers: number;
    readonly attemptsMax: number;
    readonly statusCounts: Readonly<Record<string, number>>;
  };
  readonly bootstrap: ReportWindow;
  readonly incidents: readonly ReportWindow[];
  readonly totals: EventTotals & { readonly chatApi: ChatApiStats };
  readonly settleMs: Percentiles;
  /** Incident → new token published, over incidents. */
  readonly publishMs: Percentiles;
  /** Worst per-instance recovery (rejection → new token in use), over incidents. */
  readonly recoverMs: Percentiles;
  readonly pool: PoolStats & { readonly lanes: readonly string[] };
  readonly finalToken: { readonly storeGeneration: number | null; readonly chatGeneration: number | null; readonly fingerprintsMatch: boolean };
  readonly invariants: readonly Invariant[];
  readonly settleDefinition: string;
  readonly timelinePath: string;
}

/** The settle-time definition, as printed in the report and the docs. */
export const SETTLE_DEFINITION =
  'From the incident until the last instance that saw a token rejected after it has used the new generation ' +
  '(the highest generation used before the next incident that was never rejected), from the forwarded token-used/token-rejected events. ' +
  'It includes the time until traffic reaches an idle instance; publishMs (incident → the new generation first appears in an event) and recoverMsMax ' +
  '(longest first-rejection → first-use-of-the-new-token of one instance) isolate the protocol\'s own cost. ' +
  'Bootstrap: from the first coordinator event until the first use of the first published token.';

/** Everything the report is built from. */
export interface ReportInput {
  readonly options: DemoOptions;
  readonly dynamodb: string;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly plannedIds: readonly string[];
  readonly records: readonly DeliveryRecord[];
  readonly windows: readonly WindowStats[];
  readonly fired: readonly FiredIncident[];
  readonly totals: EventTotals;
  /** Forwarded events dropped over the cap, or malformed. */
  readonly eventLosses: { readonly dropped: number; readonly malformed: number };
  readonly chatStats: ChatApiStats;
  readonly chatDelivered: readonly DeliveredMessage[];
  readonly chatCurrent: { readonly generation: number; readonly tokenFingerprint: string; readonly expired: boolean } | undefined;
  readonly storeItem: { readonly generation: number; readonly tokenFingerprint: string | undefined } | undefined;
  readonly pool: PoolStats & { readonly lanes: readonly string[] };
  /** Worker pids still alive after shutdown. */
  readonly orphanPids: readonly number[];
  readonly timelinePath: string;
}

/**
 * Builds the JSON report: counts, per-incident costs, settle percentiles and the invariants.
 *
 * @example
 * ```ts
 * const report = buildReport(input);
 * process.exitCode = report.invariants.every((check) => check.ok) ? 0 : 1;
 * ```
 */
export function buildReport(input: ReportInput): DemoReport {
  const [bootstrapWindow, ...incidentWindows] = input.windows;
  const toReport = (window: WindowStats): ReportWindow => ({
    kind: window.kind,
    atMs: window.atMs - input.startedAtMs,
    authCalls: window.authCalls,
    rejections: window.rejections,
    settleMs: window.settleMs,
    settledGeneration: window.settledGeneration,
    publishMs: window.publishMs,
    recoverMsMax: window.recoverMsMax,
    rejectedInstances: window.rejectedLanes.length,
    detail: window.detail,
  });
  const statusCounts: Record<string, number> = {};
  for (const record of input.records) for (const result of record.results) statusCounts[String(result)] = (statusCounts[String(result)] ?? 0) + 1;
  const settleValues = incidentWindows.map((window) => window.settleMs).filter((value): value is number => value !== null);
  const bootstrap: ReportWindow =
    bootstrapWindow === undefined
      ? { kind: 'bootstrap', atMs: 0, authCalls: 0, rejections: 0, settleMs: null, settledGeneration: null, publishMs: null, recoverMsMax: null, rejectedInstances: 0, detail: 'no events' }
      : toReport(bootstrapWindow);
  const fingerprintsMatch =
    input.storeItem?.tokenFingerprint !== undefined && input.chatCurrent !== undefined && input.storeItem.tokenFingerprint === input.chatCurrent.tokenFingerprint;
  return {
    seed: input.options.seed,
    instances: input.options.instances,
    durationMs: input.endedAtMs - input.startedAtMs,
    startedAt: new Date(input.startedAtMs).toISOString(),
    options: {
      messages: input.options.messages,
      incidents: input.options.incidents,
      authLatencyMs: input.options.authLatencyMs,
      messageLatencyMs: input.options.messageLatencyMs,
      spreadMs: input.options.spreadMs,
      dynamodb: input.dynamodb,
    },
    messages: {
      sent: input.plannedIds.length,
      delivered: input.records.filter((record) => record.outcome === 'delivered').length,
      failed: input.records.filter((record) => record.outcome !== 'delivered').length,
      refused: input.records.filter((record) => record.outcome === 'refused').length,
      duplicates: input.records.filter((record) => record.duplicate).length,
      redeliveries: input.records.reduce((sum, record) => sum + Math.max(0, record.attempts - 1), 0),
      notSentAnswers: input.records.reduce((sum, record) => sum + record.notSent, 0),
      attemptsMax: input.records.reduce((max, record) => Math.max(max, record.attempts), 0),
      statusCounts,
    },
    bootstrap,
    incidents: incidentWindows.map(toReport),
    totals: { ...input.totals, chatApi: input.chatStats },
    settleMs: summarize(settleValues),
    publishMs: summarize(incidentWindows.map((window) => window.publishMs).filter((value): value is number => value !== null)),
    recoverMs: summarize(incidentWindows.map((window) => window.recoverMsMax).filter((value): value is number => value !== null)),
    pool: input.pool,
    finalToken: { storeGeneration: input.storeItem?.generation ?? null, chatGeneration: input.chatCurrent?.generation ?? null, fingerprintsMatch },
    invariants: checkInvariants(input, bootstrap, incidentWindows, fingerprintsMatch),
    settleDefinition: SETTLE_DEFINITION,
    timelinePath: input.timelinePath,
  };
}

/**
 * The run's invariants, each with a one-line explanation.
 *
 * @example
 * ```ts
 * checkInvariants(input, bootstrap, incidents, true).filter((check) => !check.ok);
 * ```
 */
export function checkInvariants(input: ReportInput, bootstrap: ReportWindow, incidents: readonly WindowStats[], fingerprintsMatch: boolean): Invariant[] {
  const checks: Invariant[] = [];
  const check = (name: string, ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
  };
  const notDelivered = input.records.filter((record) => record.outcome !== 'delivered');
  check(
    'no-message-lost',
    notDelivered.length === 0 && input.records.length === input.plannedIds.length,
    notDelivered.length === 0
      ? `all ${input.plannedIds.length} webhooks answered 200 sent (${input.records.filter((record) => record.attempts > 1).length} of them after redelivery)`
      : `${notDelivered.length} not delivered, e.g. ${notDelivered
          .slice(0, 5)
          .map((record) => `${record.messageId} (${record.outcome}, ${record.attempts} attempts: ${record.results.join('/')})`)
          .join(', ')}`,
  );

  const repliesFor = new Map<string, number>();
  for (const message of input.chatDelivered) if (message.inReplyTo !== undefined) repliesFor.set(message.inReplyTo, (repliesFor.get(message.inReplyTo) ?? 0) + 1);
  const missing = input.plannedIds.filter((id) => !repliesFor.has(id));
  const doubled = [...repliesFor].filter(([, count]) => count > 1).map(([id]) => id);
  const unique = input.chatStats.messagesAccepted - input.chatStats.duplicates;
  check(
    'delivered-exactly-once',
    missing.length === 0 && doubled.length === 0 && unique === input.plannedIds.length && input.chatStats.deliveredDropped === 0,
    `chat API holds ${unique} unique replies for ${input.plannedIds.length} webhooks` +
      `${missing.length > 0 ? `; missing ${missing.slice(0, 5).join(', ')}` : ''}${doubled.length > 0 ? `; twice ${doubled.slice(0, 5).join(', ')}` : ''}` +
      `; ${input.chatStats.duplicates} redelivered replies recognised as duplicates`,
  );

  const costly = incidents.filter((window) => window.authCalls > 1);
  check(
    'at-most-one-auth-per-incident',
    costly.length === 0,
    costly.length === 0
      ? `POST /auth per incident: ${incidents.map((window) => window.authCalls).join(', ') || 'no incidents'}`
      : costly.map((window) => `${window.kind} at ${window.atMs - input.startedAtMs} ms: ${window.authCalls} POST /auth`).join('; '),
  );
  check('bootstrap-one-auth', bootstrap.authCalls === 1, `the cold start made ${bootstrap.authCalls} POST /auth`);

  const unsettled = incidents.filter((window) => window.settleMs === null);
  check(
    'every-incident-settled',
    unsettled.length === 0 && input.fired.length === input.options.incidents && input.fired.every((incident) => incident.ok),
    unsettled.length === 0
      ? `${incidents.length} of ${input.options.incidents} incidents fired and settled`
      : unsettled.map((window) => `${window.kind} at ${window.atMs - input.startedAtMs} ms: ${window.detail}`).join('; '),
  );

  check(
    'fleet-ends-on-accepted-token',
    fingerprintsMatch && input.chatCurrent?.expired === false,
    `item generation ${input.storeItem?.generation ?? 'none'} ${fingerprintsMatch ? 'holds' : 'does NOT hold'} the chat API's current token ` +
      `(the chat API has minted ${input.chatCurrent?.generation ?? 'no'} tokens in all, outside invalidations included${input.chatCurrent?.expired === true ? '; its current one is expired' : ''})`,
  );

  // A 401 the server sent to a request its client had already given up on (deadline, abort) is
  // counted by the chat API but never reaches the coordinator; such a request ends as a 503
  // not-sent answer, so those answers bound the gap.
  const notSentAnswers = input.records.reduce((sum, record) => sum + record.notSent, 0);
  const unseen401s = input.chatStats.rejections - input.totals.rejections;
  check(
    'events-match-chat-api',
    input.totals.authCalls === input.chatStats.authCalls && unseen401s >= 0 && unseen401s <= notSentAnswers,
    `POST /auth: ${input.totals.authCalls} issuer-call events vs ${input.chatStats.authCalls} at the chat API; ` +
      `401s: ${input.totals.rejections} token-rejected events vs ${input.chatStats.rejections} at the chat API ` +
      `(${unseen401s} unseen by a client, at most the ${notSentAnswers} requests answered 503 not-sent)`,
  );

  check(
    'no-stuck-instances',
    input.pool.timeouts === 0 && input.pool.crashes === 0 && input.pool.startFailures === 0,
    `${input.pool.timeouts} invocation timeouts, ${input.pool.crashes} crashes, ${input.pool.startFailures} failed starts`,
  );
  check(
    'events-complete',
    input.eventLosses.dropped === 0 && input.eventLosses.malformed === 0,
    `${input.eventLosses.dropped} events dropped over the cap, ${input.eventLosses.malformed} malformed payloads`,
  );
  check('no-alarms', input.totals.alarms === 0, `${input.totals.alarms} alarm events`);
  check('no-orphan-workers', input.orphanPids.length === 0, input.orphanPids.length === 0 ? 'every worker process exited' : `still alive: ${input.orphanPids.join(', ')}`);
  return checks;
}
