/**
 * The exhaustive explorer: breadth-first search over every interleaving of the world's steps,
 * deduplicating states by the hash of their canonical form. Breadth-first order makes every
 * counterexample a shortest one. Safety is checked on every state and step; liveness on the
 * finished graph (`liveness.ts`).
 */
import { createBatonMachine } from '../../src/machine/machine.js';
import { rulesFor } from '../mutants.js';
import { canonicalHash } from './canonical.js';
import { StateGraph } from './graph.js';
import { checkState, settled, violation } from './invariants.js';
import type { CheckId, InvariantId, Violation } from './invariants.js';
import { livenessViolations } from './liveness.js';
import { DEFAULT_EXPLORER } from './options.js';
import type { ExplorerConstraints } from './options.js';
import { successors } from './step.js';
import type { Model } from './step.js';
import { MachineStepper } from './stepper.js';
import { replay, stepsTo } from './trace.js';
import type { Counterexample } from './trace.js';
import { initialWorlds, stateOf } from './world.js';
import type { World } from './world.js';

/** What one exploration found. */
export interface ExploreReport {
  readonly options: ExplorerConstraints;
  readonly states: number;
  readonly transitions: number;
  readonly maxDepth: number;
  readonly settledStates: number;
  readonly seconds: number;
  /** CPU time of this process (user + system) during the search: comparable when the machine is busy. */
  readonly cpuSeconds: number;
  readonly statesPerSecond: number;
  /** False when the state limit stopped the search (nothing is proven then). */
  readonly complete: boolean;
  /** Machine steps computed (the rest came from the memo). */
  readonly machineTransitions: number;
  readonly memoHits: number;
  /** Shortest counterexample per broken invariant (only the first one unless `allViolations`). */
  readonly violations: readonly Counterexample[];
  /** Machine transitions taken: `from|EVENT|to`, sorted. */
  readonly coverage: readonly string[];
}

/** Progress callback: called about once a second. */
export type Progress = (report: { states: number; transitions: number; depth: number; seconds: number }) => void;

function flagsOf(world: World): number {
  let flags = settled(world) ? 1 : 0;
  world.instances.forEach((instance, i) => {
    if (!instance.crashed && stateOf(instance) === 'waiting') flags |= 1 << (i + 1);
  });
  return flags;
}

/** Builds the model for a set of options. */
export function modelFor(options: ExplorerConstraints): Model {
  const rules = rulesFor(options.mutant);
  return { options, rules, stepper: new MachineStepper(createBatonMachine(rules)), trackPrevious: !rules.consistentReads };
}

/**
 * Explores every reachable state and checks every invariant.
 *
 * @example
 * ```ts
 * const report = explore({ ...DEFAULT_EXPLORER, instances: 2 });
 * if (report.violations.length > 0) console.log(report.violations[0]);
 * ```
 */
export function explore(partial: Partial<ExplorerConstraints> = {}, progress?: Progress): ExploreReport {
  const options: ExplorerConstraints = { ...DEFAULT_EXPLORER, ...partial };
  const model = modelFor(options);
  const canon = { symmetry: options.symmetry, trackPrevious: model.trackPrevious };
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const roots = initialWorlds(options, model.stepper.machine);
  const graph = new StateGraph();
  const ids = new Map<number, number>();
  const worlds: (World | undefined)[] = [];
  const found = new Map<CheckId, { invariant: InvariantId; message: string; parent: number; via: number }>();
  let transitions = 0;
  let maxDepth = 0;
  let complete = true;
  let lastProgress = started;

  const note = (violations: readonly Violation[], parent: number, via: number): void => {
    for (const v of violations) if (!found.has(v.check)) found.set(v.check, { invariant: v.invariant, message: v.message, parent, via });
  };

  roots.forEach((world, r) => {
    const key = canonicalHash(world, canon);
    if (ids.has(key)) return;
    const id = graph.add(-1, r, 0, flagsOf(world));
    ids.set(key, id);
    worlds[id] = world;
    const violations = checkState(world);
    if (violations.length > 0) note(violations, id, -1);
  });

  const stop = (): boolean => !options.allViolations && found.size > 0;
  for (let at = 0; at < graph.size && !stop(); at += 1) {
    const world = worlds[at];
    worlds[at] = undefined;
    graph.beginRow();
    if (world === undefined) continue;
    const depth = graph.depth.get(at);
    const next = successors(model, world);
    transitions += next.length;
    let onlySelf = true;
    for (let k = 0; k < next.length; k += 1) {
      const successor = next[k];
      if (successor === undefined) continue;
      const key = canonicalHash(successor.world, canon);
      let id = ids.get(key);
      const fresh = id === undefined;
      if (id === undefined) {
        if (graph.size >= options.maxStates) {
          complete = false;
          break;
        }
        id = graph.add(at, k, depth + 1, flagsOf(successor.world));
        ids.set(key, id);
        worlds[id] = successor.world;
        if (depth + 1 > maxDepth) maxDepth = depth + 1;
      }
      graph.addEdge(id);
      if (id !== at) onlySelf = false;
      if (successor.violations.length > 0) note(successor.violations, at, k);
      if (fresh) {
        const violations = checkState(successor.world);
        if (violations.length > 0) note(violations, at, k);
      }
    }
    if (!complete) break;
    // A deadlock breaks liveness at once: nothing can ever happen again, and the fleet is not settled.
    const flags = graph.flags.get(at);
    if (onlySelf && (flags & 1) === 0) {
      const waiter = world.instances.find((instance, i) => (flags & (1 << (i + 1))) !== 0);
      note(
        [
          waiter === undefined
            ? violation('deadlock', 'deadlock: nothing can happen any more, and the fleet is not settled')
            : violation('deadlock', `deadlock: ${waiter.id} waits and nothing can happen any more`, 'I5'),
        ],
        at,
        -1,
      );
    }
    if (progress !== undefined && (at & 0x3ff) === 0) {
      const now = performance.now();
      if (now - lastProgress > 1_000) {
        lastProgress = now;
        progress({ states: graph.size, transitions, depth: maxDepth, seconds: (now - started) / 1_000 });
      }
    }
  }
  graph.finishRows();

  const violations: Counterexample[] = [];
  for (const [check, { invariant, message, parent, via }] of found) {
    const { root, steps } = stepsTo(graph, parent);
    const rootWorld = roots[root];
    if (rootWorld === undefined) throw new Error('explorer bug: unknown root');
    const path = via < 0 ? steps : [...steps, via];
    violations.push({ check, invariant, message, start: rootWorld.start, trace: replay(model, rootWorld, path).lines, stuck: [] });
  }
  // Liveness needs the whole graph: only on a complete search that found nothing else (or when asked for everything).
  if (complete && (violations.length === 0 || options.allViolations)) {
    violations.push(...livenessViolations(model, graph, roots));
  }

  let settledStates = 0;
  for (let i = 0; i < graph.size; i += 1) if ((graph.flags.get(i) & 1) === 1) settledStates += 1;
  const seconds = (performance.now() - started) / 1_000;
  const cpu = process.cpuUsage(cpuStarted);
  return {
    options,
    states: graph.size,
    transitions,
    maxDepth,
    settledStates,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    statesPerSecond: Math.round(graph.size / Math.max(seconds, 1e-9)),
    complete,
    machineTransitions: model.stepper.transitions,
    memoHits: model.stepper.memoHits,
    violations,
    coverage: [...model.stepper.coverage].sort(),
  };
}
