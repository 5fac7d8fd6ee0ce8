import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { batonMachine, STATES } from '../../src/machine/machine.js';
import { machineGraph } from '../../spec/diagram/graph.js';
import { renderStateDiagram } from '../../spec/diagram/svg.js';

describe('the state diagram is generated from the machine', () => {
  it('lists every state of the machine and only those', () => {
    expect([...machineGraph(batonMachine).states].sort()).toEqual(Object.values(STATES).sort());
  });

  it('the committed docs/state-diagram.svg is up to date (run `npm run diagram` after changing the machine)', () => {
    const committed = readFileSync('docs/state-diagram.svg', 'utf8');
    expect(committed).toBe(renderStateDiagram(machineGraph(batonMachine)));
  });

  it('draws an arrow for every transition, e.g. claiming → refreshing on WRITE_APPLIED', () => {
    const edge = machineGraph(batonMachine).edges.find((e) => e.from === 'claiming' && e.to === 'refreshing');
    expect(edge?.events).toEqual(['WRITE_APPLIED']);
  });
});
