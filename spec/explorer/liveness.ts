/**
 * Liveness on the finished graph (I5, I6), as "from every reachable state, something good is
 * still reachable" (AG EF good). On a finite graph, with a scheduler that does not starve any
 * enabled step forever, that is what "eventually" means: a state that can still reach a good
 * state will reach one; a cycle that can be left is left.
 *
 * - I5: for every instance i, from every state where i is `waiting`, a state where it is not
 *   (or has crashed) is reachable. Time jumps are steps, so a lease that is never released
 *   still lets waiters go after a jump (takeover) — unless the protocol forbids it.
 * - I6: from every state a settled state is reachable.
 */
import type { StateGraph } from './graph.js';
import type { Model } from './step.js';
import { replay, stepsTo } from './trace.js';
import type { Counterexample, TraceStep } from './trace.js';
import type { World } from './world.js';

/** Steps shown after the bad state. */
const STUCK_STEPS_MAX = 24;

/** The first (shallowest) state id not in `good`, or −1. */
function firstBad(graph: StateGraph, good: Uint8Array, also: (id: number) => boolean = () => true): number {
  for (let id = 0; id < graph.size; id += 1) if (good[id] === 0 && also(id)) return id;
  return -1;
}

/** A walk from `id` through bad states (preferring states not seen yet), as successor indices. */
function stuckWalk(graph: StateGraph, id: number): number[] {
  const seen = new Set<number>([id]);
  const steps: number[] = [];
  let at = id;
  while (steps.length < STUCK_STEPS_MAX) {
    const next = graph.successors(at);
    let pick = -1;
    for (let k = 0; k < next.length; k += 1) {
      if (!seen.has(next[k] ?? -1)) {
        pick = k;
        break;
      }
    }
    if (pick < 0) break;
    steps.push(pick);
    at = next[pick] ?? at;
    seen.add(at);
  }
  return steps;
}

function counterexample(model: Model, graph: StateGraph, roots: readonly World[], id: number, check: 'waits-forever' | 'never-settles', message: string): Counterexample {
  const { root, steps } = stepsTo(graph, id);
  const rootWorld = roots[root];
  if (rootWorld === undefined) throw new Error('explorer bug: unknown root');
  const reached = replay(model, rootWorld, steps);
  const walk = stuckWalk(graph, id);
  const stuck: TraceStep[] = replay(model, reached.world, walk, steps.length).lines;
  return { check, invariant: check === 'waits-forever' ? 'I5' : 'I6', message, start: rootWorld.start, trace: reached.lines, stuck };
}

/** I5 and I6 counterexamples (at most one each), shortest first. */
export function livenessViolations(model: Model, graph: StateGraph, roots: readonly World[]): Counterexample[] {
  const out: Counterexample[] = [];
  const instances = roots[0]?.instances ?? [];
  for (let i = 0; i < instances.length; i += 1) {
    const bit = 1 << (i + 1);
    const canLeave = graph.canReach((id) => (graph.flags.get(id) & bit) === 0);
    const bad = firstBad(graph, canLeave);
    if (bad >= 0) {
      const who = instances[i]?.id ?? String(i);
      out.push(counterexample(model, graph, roots, bad, 'waits-forever', `instance ${who} is waiting and can never leave \`waiting\` from here`));
      break;
    }
  }
  const canSettle = graph.canReach((id) => (graph.flags.get(id) & 1) === 1);
  const bad = firstBad(graph, canSettle);
  if (bad >= 0) out.push(counterexample(model, graph, roots, bad, 'never-settles', 'no settled state is reachable from here (the store and the live instances never converge on the accepted token)'));
  return out;
}
