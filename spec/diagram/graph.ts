import type { BatonMachine } from '../../src/machine/machine.js';

/** One arrow of the state diagram: all events leading from one state to another. */
export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  /** Event types (and `always` for eventless transitions), sorted, deduplicated. */
  readonly events: readonly string[];
}

/** States and arrows read from the machine definition itself, so the diagram cannot drift. */
export interface MachineGraph {
  readonly initial: string;
  readonly states: readonly string[];
  readonly transient: readonly string[];
  readonly edges: readonly DiagramEdge[];
}

/**
 * Reads states and transitions out of the machine's own definition.
 *
 * @example
 * ```ts
 * const graph = machineGraph(batonMachine);
 * ```
 */
export function machineGraph(machine: BatonMachine): MachineGraph {
  const byPair = new Map<string, { from: string; to: string; events: Set<string> }>();
  const add = (from: string, to: string, event: string): void => {
    const key = `${from}\u0000${to}`;
    const entry = byPair.get(key) ?? { from, to, events: new Set<string>() };
    entry.events.add(event);
    byPair.set(key, entry);
  };
  const states = Object.keys(machine.root.states);
  const transient: string[] = [];
  for (const [name, node] of Object.entries(machine.root.states)) {
    for (const [eventType, definitions] of node.transitions) {
      for (const definition of definitions) {
        const targets = definition.target ?? [];
        if (targets.length === 0) add(name, name, eventType);
        for (const target of targets) add(name, target.key, eventType);
      }
    }
    const always = node.always ?? [];
    if (always.length > 0) transient.push(name);
    for (const definition of always) for (const target of definition.target ?? []) add(name, target.key, 'always');
  }
  const edges = [...byPair.values()]
    .map((e) => ({ from: e.from, to: e.to, events: [...e.events].sort() }))
    .sort((a, b) => (a.from === b.from ? a.to.localeCompare(b.to) : states.indexOf(a.from) - states.indexOf(b.from)));
  const initial = String(machine.config.initial ?? states[0]);
  return { initial, states, transient, edges };
}
