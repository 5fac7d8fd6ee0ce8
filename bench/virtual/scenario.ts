/**
 * One virtual-time run: a fleet of N instances of one strategy in one scenario, a warm-up, then
 * a few incidents, each measured from the moment it happens until the fleet settles.
 */
import { measureIncident, settleTimesMs, summarizeIncidents } from '../core/metrics.js';
import type { IncidentMeasure, RunKey } from '../core/metrics.js';
import type { BenchResult, ScenarioName } from '../core/result.js';
import { deriveSeed, seededRandom } from '../core/rng.js';
import { SKEWED_CLOCK_MS, TOKEN_TTL_MS, authMsFor } from '../core/scenarios.js';
import { sharedStrategy } from '../strategies/index.js';
import type { SharedStrategyName } from '../strategies/index.js';
import { Traffic } from './traffic.js';
import type { WorldCounts } from './world.js';
import { VirtualWorld } from './world.js';

/** Quiet time between two incidents. */
export const INCIDENT_GAP_MS = 5_000;
/** Traffic starts this long before an incident, so every instance is sending when it hits. */
export const TRAFFIC_LEAD_MS = 100;
/** `token-expiry`: traffic starts this long before the token expires (room for a proactive refresh). */
export const EXPIRY_TRAFFIC_LEAD_MS = 1_000;
/** An incident that has not settled this long after it happened is closed as unsettled. */
export const WINDOW_MS_MAX = 20_000;
/**
 * `slow-issuer` closes its incidents sooner: a strategy that aborts or overtakes a `POST /auth`
 * outliving the lease never settles, and a longer window only multiplies failed messages (and
 * run time). Baton's heartbeats settle it in about one slow call.
 */
export const SLOW_ISSUER_WINDOW_MS_MAX = 10_000;
/** Settled also means no `POST /auth` started for this long (a stampede can pause between rounds). */
export const QUIET_MS = 500;
/** After the traffic stops, messages still in flight get this long to finish (Baton's default wait is 30 s). */
export const DRAIN_MS_MAX = 40_000;
/** Warm-up allowance (the first token, then every instance adopting it). */
export const WARM_UP_MS_MAX = 60_000;

/** Settings of one run. */
export interface VirtualRunOptions {
  readonly seed: number;
  readonly authMs: number;
  readonly ddbMs: number;
  readonly incidents: number;
  readonly batonPollMs?: number;
}

function countsSince(now: WorldCounts, before: WorldCounts): WorldCounts {
  return {
    authCalls: now.authCalls - before.authCalls,
    rejections: now.rejections - before.rejections,
    ddbReads: now.ddbReads - before.ddbReads,
    ddbWrites: now.ddbWrites - before.ddbWrites,
    lostMessages: now.lostMessages - before.lostMessages,
  };
}

/** Whether every live instance delivered with the chat API's current token and the issuer has been quiet. */
function settled(world: VirtualWorld, incidentAtMs: number): boolean {
  const nowMs = world.clock.nowMs;
  if (nowMs < incidentAtMs || world.authInFlight > 0 || nowMs - world.lastAuthStartedAtMs < QUIET_MS) return false;
  const generation = world.acceptedGeneration;
  return generation !== undefined && world.instances.every((instance) => instance.crashed || instance.firstDeliveryAtMs.has(generation));
}

/** What happens at the incident instant. */
function incidentAction(world: VirtualWorld, scenario: ScenarioName): () => void {
  switch (scenario) {
    case 'token-expiry':
      // The fake API expires the token by its TTL; nothing else happens.
      return () => {};
    case 'holder-crash':
      return () => {
        world.api.invalidate();
        world.crashNextAuthCaller = true;
      };
    case 'invalidation-burst':
    case 'slow-issuer':
    case 'skewed-clock':
      return () => {
        world.api.invalidate();
      };
  }
}

/**
 * Runs `strategy` in `scenario` with `instances` instances and returns its averaged result.
 *
 * @example
 * ```ts
 * const result = await runVirtualScenario('baton', 'invalidation-burst', 100, { seed: 1, authMs: 300, ddbMs: 10, incidents: 3 });
 * result.authCallsPerIncident; // 1
 * ```
 */
export async function runVirtualScenario(strategyName: SharedStrategyName, scenario: ScenarioName, instances: number, options: VirtualRunOptions): Promise<BenchResult> {
  const key: RunKey = { strategy: strategyName, scenario, mode: 'virtual', instances };
  const runSeed = deriveSeed(options.seed, strategyName, scenario, instances);
  const world = new VirtualWorld({
    seed: runSeed,
    // The issuer turns slow only after the warm-up: the incident, not the cold start, is measured.
    authMs: options.authMs,
    ddbMs: options.ddbMs,
    ...(scenario === 'token-expiry' ? { tokenTtlMs: TOKEN_TTL_MS } : {}),
  });
  const strategy = sharedStrategy(strategyName, scenario, options.batonPollMs === undefined ? {} : { batonPollMs: options.batonPollMs });
  for (let index = 0; index < instances; index += 1) {
    const skewMs = scenario === 'skewed-clock' && index === 0 ? SKEWED_CLOCK_MS : 0;
    world.addInstance(skewMs, seededRandom(deriveSeed(runSeed, 'instance', index)));
  }
  const strategyInstances = world.instances.map((instance) => strategy.create(instance.env));
  const traffic = new Traffic(world, strategyInstances);
  await warmUp(world, traffic);
  world.authMs = authMsFor(scenario, options.authMs);

  const measures: IncidentMeasure[] = [];
  for (let incident = 0; incident < options.incidents; incident += 1) {
    measures.push(await runIncident(world, traffic, scenario));
  }
  await Promise.all(strategyInstances.map((instance) => instance.close()));
  return summarizeIncidents(key, measures);
}

/** The first instance fetches the first token, then every other one adopts it. Not measured. */
async function warmUp(world: VirtualWorld, traffic: Traffic): Promise<void> {
  const [first, ...rest] = world.instances;
  if (first === undefined) throw new Error('a run needs at least one instance');
  let done = false;
  const warm = traffic
    .deliverOne(first)
    .then(() => Promise.all(rest.map((instance) => traffic.deliverOne(instance))))
    .then(() => (done = true));
  await world.clock.run({ untilMs: world.clock.nowMs + WARM_UP_MS_MAX, done: () => done });
  await warm;
  if (world.counts.lostMessages > 0) throw new Error('the warm-up lost a message: the run would measure a broken start');
}

async function runIncident(world: VirtualWorld, traffic: Traffic, scenario: ScenarioName): Promise<IncidentMeasure> {
  const clock = world.clock;
  const expiresAtMs = world.api.current()?.expiresAtMs;
  const incidentAtMs = scenario === 'token-expiry' && expiresAtMs !== undefined ? expiresAtMs : clock.nowMs + INCIDENT_GAP_MS;
  const leadMs = scenario === 'token-expiry' ? EXPIRY_TRAFFIC_LEAD_MS : TRAFFIC_LEAD_MS;
  await clock.run({ untilMs: Math.max(clock.nowMs, incidentAtMs - leadMs) });
  const before = { ...world.counts };
  traffic.start();
  clock.schedule(incidentAction(world, scenario), incidentAtMs - clock.nowMs);
  const windowMs = scenario === 'slow-issuer' ? SLOW_ISSUER_WINDOW_MS_MAX : WINDOW_MS_MAX;
  await clock.run({ untilMs: incidentAtMs + windowMs, done: () => settled(world, incidentAtMs) });
  traffic.stop();
  world.crashNextAuthCaller = false;
  await clock.run({ untilMs: clock.nowMs + DRAIN_MS_MAX, done: () => traffic.drained });
  // A message still waiting after the drain never made it: count it, once.
  world.counts.lostMessages += traffic.stuck;
  const accepted = world.acceptedGeneration;
  const live = world.instances.filter((instance) => !instance.crashed);
  const settleMs = settleTimesMs(
    incidentAtMs,
    live.map((instance) => (accepted === undefined ? undefined : instance.firstDeliveryAtMs.get(accepted))),
  );
  return measureIncident(countsSince(world.counts, before), settleMs);
}
