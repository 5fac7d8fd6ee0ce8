import { readFileSync, writeFileSync } from 'node:fs';
import { batonMachine } from '../../src/machine/machine.js';
import { machineGraph } from './graph.js';
import { renderStateDiagram } from './svg.js';

/** Where the generated diagram lives (committed, checked by a test). */
export const DIAGRAM_PATH = 'docs/state-diagram.svg';

const svg = renderStateDiagram(machineGraph(batonMachine));
if (process.argv.includes('--check')) {
  const current = readFileSync(DIAGRAM_PATH, 'utf8');
  if (current !== svg) {
    console.error(`${DIAGRAM_PATH} is out of date with the machine; run: npm run diagram`);
    process.exit(1);
  }
  console.log(`${DIAGRAM_PATH} matches the machine`);
} else {
  writeFileSync(DIAGRAM_PATH, svg);
  console.log(`wrote ${DIAGRAM_PATH}`);
}
