/**
 * Counterexample traces: rebuilt by replaying the recorded step indices from a root, so the
 * explorer never keeps old worlds in memory. One line per step.
 */
import type { StateGraph } from './graph.js';
import type { CheckId, InvariantId } from './invariants.js';
import { itemSummary, successors } from './step.js';
import type { Model } from './step.js';
import { stateOf } from './world.js';
import type { World } from './world.js';

/** One step of a trace. */
export interface TraceStep {
  readonly depth: number;
  /** Instance id, or `env` for the environment (time, faults, orphans). */
  readonly actor: string;
  /** Machine state of the actor before → after (empty for the environment). */
  readonly states: string;
  readonly action: string;
  /** The item after the step. */
  readonly item: string;
  /** Which token the chat API accepts, and POST /auth calls so far. */
  readonly api: string;
}

/** A violation with the shortest trace that reaches it. */
export interface Counterexample {
  readonly check: CheckId;
  readonly invariant: InvariantId;
  readonly message: string;
  /** The item the run started from. */
  readonly start: string;
  readonly trace: readonly TraceStep[];
  /** Liveness only: how the run goes on from the bad state without ever recovering. */
  readonly stuck: readonly TraceStep[];
}

function lineFor(before: World, after: World, actor: number, action: string, depth: number): TraceStep {
  const was = before.instances[actor];
  const now = after.instances[actor];
  const states = was === undefined || now === undefined ? '' : now.crashed ? `${stateOf(was)} → ✝` : `${stateOf(was)} → ${stateOf(now)}`;
  return {
    depth,
    actor: was?.id ?? 'env',
    states,
    action,
    item: itemSummary(after.item),
    api: `accepts ${after.validToken === 0 ? 'nothing' : `T${after.validToken}`}, ${after.tally.authCalls} POST /auth`,
  };
}

/** Replays `steps` (successor indices) from `root`; returns the lines and the final world. */
export function replay(model: Model, root: World, steps: readonly number[], depth0 = 0): { lines: TraceStep[]; world: World } {
  const lines: TraceStep[] = [];
  let world = root;
  steps.forEach((index, n) => {
    const next = successors(model, world)[index];
    if (next === undefined) throw new Error(`explorer bug: step ${index} is not available at depth ${depth0 + n}`);
    lines.push(lineFor(world, next.world, next.actor, next.describe(), depth0 + n + 1));
    world = next.world;
  });
  return { lines, world };
}

/** Successor indices along the recorded path from a root to `id`, and the root's index. */
export function stepsTo(graph: StateGraph, id: number): { root: number; steps: number[] } {
  const path = graph.pathTo(id);
  const first = path[0] ?? 0;
  return { root: graph.via.get(first), steps: path.slice(1).map((state) => graph.via.get(state)) };
}

/** Formats a counterexample for the terminal. */
export function formatCounterexample(example: Counterexample): string {
  const width = (lines: readonly TraceStep[], pick: (line: TraceStep) => string): number => Math.max(0, ...lines.map((line) => pick(line).length));
  const all = [...example.trace, ...example.stuck];
  const wStates = width(all, (l) => l.states);
  const wAction = Math.min(96, width(all, (l) => l.action));
  const wItem = width(all, (l) => l.item);
  const format = (line: TraceStep): string =>
    `  ${String(line.depth).padStart(3)}  ${line.actor.padEnd(3)} ${line.states.padEnd(wStates)}  ${line.action.padEnd(wAction)}  | ${line.item.padEnd(wItem)} | ${line.api}`;
  const out = [`VIOLATION ${example.invariant} (${example.check}): ${example.message}`, `  shortest trace (${example.trace.length} steps, starting from ${example.start}):`, ...example.trace.map(format)];
  if (example.stuck.length > 0) out.push(`  …and from there it never recovers, e.g.:`, ...example.stuck.map(format));
  return out.join('\n');
}
