/**
 * One wall-clock run: a strategy in a scenario with N worker processes. It starts a fresh observed
 * chat server, warms the fleet up (one instance first, then the rest, so the cold start is not a
 * stampede of its own), injects the scenario's incidents one after another and measures each, then
 * stops the fleet.
 *
 * Per incident (the window opens at the incident and closes once settled and quiet, or at the
 * bound): `POST /auth` calls that reached the chat API, its 401s, the DynamoDB calls the
 * instances made, settle time per live instance (from the incident until its first accepted
 * message with the token the chat API accepts at the window's end), and lost messages (those a
 * live instance gave up on from this incident until the next one or the end of the run, plus one
 * per instance still stuck in a message when the run stops).
 *
 * `holder-crash`: the outside party invalidates the token; the first instance that then calls
 * `POST /auth` is SIGKILLed half an auth latency later (its request is at the chat API, which
 * still issues the token: no one ever learns it) and a standby process takes its place at once,
 * cold, like a new Lambda instance. Messages in the killed process die with it and are not
 * counted as lost: the process died, the strategy did not drop them.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { measureIncident, settleTimesMs, summarizeIncidents } from '../core/metrics.js';
import type { IncidentCounts, IncidentMeasure } from '../core/metrics.js';
import type { BenchResult } from '../core/result.js';
import { SKEWED_CLOCK_MS, authMsFor } from '../core/scenarios.js';
import { deriveSeed } from '../core/rng.js';
import { startWallChat } from './chat.js';
import type { WallChat } from './chat.js';
import { Fleet } from './fleet.js';
import type { FleetInstance } from './fleet.js';
import type { WallInfra } from './infra.js';
import type { WorkerAssignment } from './ipc.js';
import { INCIDENT_GAP_MS, MESSAGE_LATENCY_MS, SETTLE_POLL_MS, SETTLE_QUIET_MARGIN_MS, SETTLE_QUIET_MS_MIN, WARMUP_MS_MAX } from './plan.js';
import { messageGapMs } from './plan.js';
import type { WallRunSpec } from './plan.js';
import type { PoolWorker, WallWorkerPool } from './pool.js';

/** What every run shares. */
export interface WallRunContext {
  readonly pool: WallWorkerPool;
  readonly infra: WallInfra;
  /** The chat bot's secret (the workers have it in their environment). */
  readonly secret: string;
  readonly seed: number;
  /** Default `POST /auth` latency, ms. */
  readonly authMs: number;
  readonly log: (line: string) => void;
}

/** A run's result row and what the log should say about it. */
export interface WallRunOutcome {
  readonly result: BenchResult;
  readonly notes: readonly string[];
  readonly durationMs: number;
}

/**
 * Runs one configuration.
 *
 * @example
 * ```ts
 * const { result } = await runWallConfiguration(context, { strategy: 'baton', scenario: 'invalidation-burst', instances: 8, incidents: 1, incidentWaitMsMax: 13_000 }, 0);
 * ```
 */
export async function runWallConfiguration(context: WallRunContext, spec: WallRunSpec, index: number): Promise<WallRunOutcome> {
  const startedMs = Date.now();
  const tag = `r${index}`;
  const namespace = `${tag}-${spec.strategy}-${spec.scenario}-${spec.instances}`;
  const fleet = new Fleet();
  const notes: string[] = [];
  const chat = await startWallChat({
    secret: context.secret,
    seed: deriveSeed(context.seed, 'wall-chat', namespace),
    authLatencyMs: context.authMs,
    messageLatencyMs: MESSAGE_LATENCY_MS,
    observer: fleet.observer,
  });
  const standbys = spec.scenario === 'holder-crash' ? spec.incidents : 0;
  context.pool.onEvent = (_worker, message) => fleet.onWorkerMessage(message);
  const measures: IncidentMeasure[] = [];
  let lastCounts: Omit<IncidentCounts, 'lostMessages'> | undefined;
  let lastSettle: number[] = [];
  let stoppedAll = false;
  try {
    const workers = await context.pool.take(spec.instances + standbys);
    const active = workers.slice(0, spec.instances);
    const spare = workers.slice(spec.instances);
    let next = 1;
    const assignmentFor = (worker: PoolWorker, clockSkewMs: number): { instanceId: string; assignment: WorkerAssignment } => {
      const instanceId = `${tag}i${String(next++).padStart(2, '0')}`;
      return {
        instanceId,
        assignment: {
          strategy: spec.strategy,
          scenario: spec.scenario,
          instanceId,
          namespace,
          seed: deriveSeed(context.seed, 'wall-instance', namespace, instanceId),
          clockSkewMs,
          chatUrl: chat.server.url,
          messageGapMs: messageGapMs(spec.instances),
          dynamo: {
            endpoint: context.infra.endpoint,
            region: context.infra.region,
            tokenTable: context.infra.tokenTable,
            itemTable: context.infra.itemTable,
            lockTable: context.infra.lockTable,
            lockPartitionKey: context.infra.lockPartitionKey,
          },
        },
      };
    };
    const host = async (worker: PoolWorker, clockSkewMs: number): Promise<FleetInstance> => {
      const { instanceId, assignment } = assignmentFor(worker, clockSkewMs);
      const instance = fleet.add(instanceId, worker);
      await context.pool.assign(worker, assignment);
      instance.started = true;
      return instance;
    };

    // Warm-up: the first instance (the skewed one in skewed-clock) gets the first token alone.
    const [first, ...rest] = active;
    if (first === undefined) throw new Error('a run needs at least one instance');
    await host(first, spec.scenario === 'skewed-clock' ? SKEWED_CLOCK_MS : 0);
    if (!(await waitFor(() => fleet.steady(chat.api.current()?.generation), WARMUP_MS_MAX))) notes.push('first instance never delivered during warm-up');
    await Promise.all(rest.map((worker) => host(worker, 0)));
    if (!(await waitFor(() => fleet.steady(chat.api.current()?.generation), WARMUP_MS_MAX))) notes.push('fleet not steady after warm-up');

    for (let incident = 1; incident <= spec.incidents; incident += 1) {
      await delay(INCIDENT_GAP_MS);
      if (lastCounts !== undefined) measures.push(measureIncident({ ...lastCounts, lostMessages: fleet.takeLosses() }, lastSettle));
      const outcome = await runIncident({ spec, context, chat, fleet, takeStandby: () => spare.shift(), host });
      lastCounts = outcome.counts;
      lastSettle = outcome.settleMs;
      if (!outcome.settled) {
        notes.push(`incident ${incident} did not settle within ${spec.incidentWaitMsMax} ms; run stopped there`);
        break;
      }
    }
    // Stop everyone; messages a live instance could not finish count as lost for the last incident.
    stoppedAll = true;
    await stopFleet(context.pool, fleet);
  } finally {
    if (!stoppedAll) await stopFleet(context.pool, fleet).catch(() => undefined);
    context.pool.onEvent = () => undefined;
    await chat.server.close();
  }
  if (lastCounts !== undefined) measures.push(measureIncident({ ...lastCounts, lostMessages: fleet.takeLosses() }, lastSettle));
  if (fleet.lossReasons.length > 0) notes.push(`first losses: ${[...new Set(fleet.lossReasons)].join('; ')}`);
  const result = summarizeIncidents({ strategy: spec.strategy, scenario: spec.scenario, mode: 'wall', instances: spec.instances }, measures);
  return { result, notes, durationMs: Date.now() - startedMs };
}

interface IncidentRun {
  readonly spec: WallRunSpec;
  readonly context: WallRunContext;
  readonly chat: WallChat;
  readonly fleet: Fleet;
  readonly takeStandby: () => PoolWorker | undefined;
  readonly host: (worker: PoolWorker, clockSkewMs: number) => Promise<FleetInstance>;
}

/** Injects one incident and waits (bounded) until it settled and stayed quiet. */
async function runIncident(run: IncidentRun): Promise<{ counts: Omit<IncidentCounts, 'lostMessages'>; settleMs: number[]; settled: boolean }> {
  const { spec, context, chat, fleet } = run;
  const authMs = authMsFor(spec.scenario, context.authMs);
  if (authMs !== context.authMs) chat.server.setLatency({ authLatencyMs: authMs });
  const rejectionsBefore = chat.api.stats().rejections;
  const crash = spec.scenario === 'holder-crash' ? armCrash(run, authMs) : undefined;
  fleet.beginIncident();
  const incidentAtMs = Date.now();
  if (spec.scenario === 'token-expiry') chat.api.expireCurrent();
  else chat.api.invalidate();

  const quietMs = Math.max(SETTLE_QUIET_MS_MIN, authMs + SETTLE_QUIET_MARGIN_MS);
  const deadlineMs = incidentAtMs + spec.incidentWaitMsMax;
  let heldSinceMs: number | undefined;
  let settled = false;
  while (Date.now() < deadlineMs) {
    if (fleet.settled(chat.api.current()?.generation)) {
      heldSinceMs ??= Date.now();
      if (Date.now() - heldSinceMs >= quietMs) {
        settled = true;
        break;
      }
    } else {
      heldSinceMs = undefined;
    }
    await delay(SETTLE_POLL_MS);
  }
  crash?.disarm();
  await Promise.allSettled(crash?.replacing ?? []);
  const window = fleet.endWindow();
  const generation = chat.api.current()?.generation;
  const settleMs = settleTimesMs(
    incidentAtMs,
    fleet.live().map((instance) => (generation === undefined ? undefined : instance.firstUseAtMs.get(generation))),
  );
  if (authMs !== context.authMs) chat.server.setLatency({ authLatencyMs: context.authMs });
  return { counts: { ...window, rejections: chat.api.stats().rejections - rejectionsBefore }, settleMs, settled };
}

/**
 * Arms the crash: the first live instance to start `POST /auth` is SIGKILLed half an auth latency
 * later and a standby is hosted in its place. `disarm` cancels a kill that has not happened yet.
 */
function armCrash(run: IncidentRun, authMs: number): { disarm(): void; readonly replacing: Promise<unknown>[] } {
  const replacing: Promise<unknown>[] = [];
  let timer: NodeJS.Timeout | undefined;
  run.fleet.onAuthStart((victim) => {
    run.fleet.onAuthStart(undefined);
    timer = setTimeout(() => {
      run.context.pool.kill(victim.worker);
      victim.alive = false;
      const standby = run.takeStandby();
      if (standby !== undefined) replacing.push(run.host(standby, 0).catch((error: unknown) => run.context.log(`  standby failed: ${String(error)}`)));
    }, Math.floor(authMs / 2));
  });
  return {
    disarm: () => {
      run.fleet.onAuthStart(undefined);
      clearTimeout(timer);
    },
    replacing,
  };
}

/** Stops every live instance; one still stuck in a message adds a loss. */
async function stopFleet(pool: WallWorkerPool, fleet: Fleet): Promise<void> {
  const stops = fleet.live().map(async (instance) => {
    const stopped = await pool.release(instance.worker);
    if (stopped === undefined || !stopped.clean) fleet.addLoss();
    instance.alive = false;
  });
  await Promise.all(stops);
}

/** Polls `condition` every {@link SETTLE_POLL_MS} until it holds or `waitMsMax` passes. */
async function waitFor(condition: () => boolean, waitMsMax: number): Promise<boolean> {
  const deadlineMs = Date.now() + waitMsMax;
  while (Date.now() < deadlineMs) {
    if (condition()) return true;
    await delay(SETTLE_POLL_MS);
  }
  return condition();
}
