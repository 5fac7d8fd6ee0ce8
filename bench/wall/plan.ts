/**
 * What the wall-clock bench runs and how long it may wait: fleet sizes per scenario, incidents
 * per run, traffic, and every bound, in one place.
 *
 * Quick (`--quick`, CI): pass {@link WALL_QUICK}: `invalidation-burst` at N ∈ {1, 8}, every
 * strategy, one incident per run: about 20–25 s on 2 cores. `holder-crash` is left out of it on
 * purpose: Baton's default 10 s lease makes one crash incident cost 11+ s, and lock-client never
 * recovers from one (it waits for the bound), which alone would take the whole budget. If asked
 * for anyway in quick mode, it runs at N = 2 with a 13 s bound.
 * Full: `invalidation-burst` at N ∈ {1, 8, 32}, every other scenario at N = 8, three incidents per
 * run (two for `holder-crash` and `slow-issuer`): a few minutes. A run stops after an incident
 * that did not settle: the next one would start from a fleet that never recovered.
 */
import { SCENARIO_NAMES } from '../core/result.js';
import type { ScenarioName } from '../core/result.js';
import { instancesMinFor } from '../core/scenarios.js';
import type { StrategyName } from '../core/strategy.js';

/** Most instances (worker processes) of one run; the wall-clock bound. */
export const WALL_INSTANCES_MAX = 32;
/** Fleet sizes of `invalidation-burst` by default. */
export const WALL_BURST_INSTANCES = [1, 8, 32] as const;
/** Fleet size of every other scenario (the `instances` option entry closest to it is used). */
export const WALL_OTHER_INSTANCES = 8;
/** The `--quick` subset: fleet sizes and scenarios to pass to `runWallBench`, and the crash size if a crash is asked for. */
export const WALL_QUICK = {
  instances: [1, 8],
  scenarios: ['invalidation-burst'],
  crashInstances: 2,
} as const satisfies { instances: readonly number[]; scenarios: readonly ScenarioName[]; crashInstances: number };
/** The full wall-clock bench: fleet sizes of `invalidation-burst` and every scenario. */
export const WALL_FULL = {
  instances: WALL_BURST_INSTANCES,
  scenarios: SCENARIO_NAMES,
} as const satisfies { instances: readonly number[]; scenarios: readonly ScenarioName[] };

/** Incidents per run in `--quick`. */
export const INCIDENTS_QUICK = 1;
/** Incidents per run in a full bench. */
export const INCIDENTS_FULL = 3;
/** Incidents per run in a full bench for the scenarios whose incidents take seconds (`holder-crash`, `slow-issuer`). */
export const INCIDENTS_FULL_SLOW = 2;

/** Shortest mean pause between two messages of one instance, ms (jittered ±50 %): at most 20 messages/s per instance. */
export const MESSAGE_GAP_MS_MIN = 50;
/**
 * Most messages per second of a whole fleet. On a 2-core machine, 32 processes at 20 messages/s
 * saturate the CPU and every DynamoDB call queues for a second or more; above 10 instances the
 * gap grows so that the fleet stays at this rate (N = 32: 160 ms).
 */
export const FLEET_MESSAGES_PER_S_MAX = 200;

/**
 * Mean pause between two messages of one instance in a fleet of `instances`, ms. Settle times are
 * observed at each instance's next message, so they include up to one such gap.
 *
 * @example
 * ```ts
 * messageGapMs(8); // 50
 * messageGapMs(32); // 160
 * ```
 */
export function messageGapMs(instances: number): number {
  return Math.max(MESSAGE_GAP_MS_MIN, Math.ceil((instances * 1000) / FLEET_MESSAGES_PER_S_MAX));
}
/** Latency of `POST /messages` at the fake chat API, ms. */
export const MESSAGE_LATENCY_MS = 10;
/** Longest warm-up (first instance, then the rest, until all deliver with one token), ms. */
export const WARMUP_MS_MAX = 20_000;
/** Pause before each incident, so the fleet is in its steady state, ms. */
export const INCIDENT_GAP_MS = 300;
/** Longest wait for an incident to settle, ms: full runs (covers Baton's 10 s default lease twice over). */
export const INCIDENT_WAIT_MS_MAX = 30_000;
/** Longest wait for an incident to settle in `--quick`, ms (beyond Baton's 10 s lease + 1 s skew allowance + auth). */
export const INCIDENT_WAIT_MS_MAX_QUICK = 13_000;
/** A settled state must hold this long (at least) before the window closes, ms. */
export const SETTLE_QUIET_MS_MIN = 400;
/** …and at least one `POST /auth` latency plus this, so an auth already at the server (e.g. of a killed holder) lands inside the window, ms. */
export const SETTLE_QUIET_MARGIN_MS = 200;
/** How often the settle condition is checked, ms. */
export const SETTLE_POLL_MS = 10;

/** One run: a strategy in a scenario at a fleet size. */
export interface WallRunSpec {
  readonly strategy: StrategyName;
  readonly scenario: ScenarioName;
  readonly instances: number;
  readonly incidents: number;
  /** Bound of one incident's settle wait, ms. */
  readonly incidentWaitMsMax: number;
}

/**
 * The runs of a bench, in order: scenario by scenario, fleet size, then strategy.
 * `invalidation-burst` runs at every entry of `instances`; every other scenario at one size (the
 * entry closest to {@link WALL_OTHER_INSTANCES}, or {@link WALL_QUICK}'s crash size in quick),
 * never below the scenario's minimum (a crash needs a survivor).
 *
 * @example
 * ```ts
 * planWallRuns({ quick: true, instances: [1, 8], scenarios: ['invalidation-burst'], strategies: ['baton'] });
 * ```
 */
export function planWallRuns(options: {
  readonly quick: boolean;
  readonly instances: readonly number[];
  readonly scenarios: readonly ScenarioName[];
  readonly strategies: readonly StrategyName[];
}): WallRunSpec[] {
  for (const instances of options.instances) {
    if (!Number.isSafeInteger(instances) || instances < 1 || instances > WALL_INSTANCES_MAX) {
      throw new RangeError(`wall-clock instances must be integers from 1 to ${WALL_INSTANCES_MAX}; got ${instances}`);
    }
  }
  if (options.instances.length === 0) throw new RangeError('wall-clock bench needs at least one fleet size');
  const runs: WallRunSpec[] = [];
  for (const scenario of options.scenarios) {
    for (const instances of fleetSizes(scenario, options)) {
      for (const strategy of options.strategies) {
        runs.push({
          strategy,
          scenario,
          instances,
          incidents: options.quick ? INCIDENTS_QUICK : isSlow(scenario) ? INCIDENTS_FULL_SLOW : INCIDENTS_FULL,
          incidentWaitMsMax: options.quick ? INCIDENT_WAIT_MS_MAX_QUICK : INCIDENT_WAIT_MS_MAX,
        });
      }
    }
  }
  return runs;
}

function fleetSizes(scenario: ScenarioName, options: { readonly quick: boolean; readonly instances: readonly number[] }): number[] {
  const minimum = instancesMinFor(scenario);
  if (scenario === 'invalidation-burst') return [...new Set(options.instances.map((instances) => Math.max(minimum, instances)))];
  if (options.quick && scenario === 'holder-crash') return [Math.max(minimum, WALL_QUICK.crashInstances)];
  const closest = [...options.instances].sort((a, b) => Math.abs(a - WALL_OTHER_INSTANCES) - Math.abs(b - WALL_OTHER_INSTANCES) || b - a)[0] ?? WALL_OTHER_INSTANCES;
  return [Math.max(minimum, closest)];
}

function isSlow(scenario: ScenarioName): boolean {
  return scenario === 'holder-crash' || scenario === 'slow-issuer';
}
