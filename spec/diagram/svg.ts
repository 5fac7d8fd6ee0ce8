import dagre from '@dagrejs/dagre';
import type { MachineGraph } from './graph.js';

const NODE_WIDTH_PX = 140;
const NODE_HEIGHT_PX = 34;
const LABEL_FONT_PX = 10;
const LABEL_CHAR_WIDTH_PX = 5.6;
const MARGIN_PX = 30;
const TITLE_HEIGHT_PX = 30;
const FOOTER_HEIGHT_PX = 30;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const WRITE_OUTCOMES = ['WRITE_AMBIGUOUS', 'WRITE_APPLIED', 'WRITE_FAILED', 'WRITE_REFUSED'];

/** Short label: all four write outcomes read as one. */
function edgeLabel(events: readonly string[]): string {
  if (WRITE_OUTCOMES.every((e) => events.includes(e))) return ['any WRITE_*', ...events.filter((e) => !WRITE_OUTCOMES.includes(e))].join(', ');
  return events.join(', ');
}

/** A smooth path through dagre's edge points. */
function pathThrough(points: readonly { x: number; y: number }[]): string {
  const [first, ...rest] = points;
  if (first === undefined) return '';
  let d = `M${first.x.toFixed(1)},${first.y.toFixed(1)}`;
  for (let i = 0; i < rest.length; i += 1) {
    const p = rest[i]!;
    const next = rest[i + 1];
    if (next === undefined) d += ` L${p.x.toFixed(1)},${p.y.toFixed(1)}`;
    else d += ` Q${p.x.toFixed(1)},${p.y.toFixed(1)} ${((p.x + next.x) / 2).toFixed(1)},${((p.y + next.y) / 2).toFixed(1)}`;
  }
  return d;
}

/**
 * Renders the machine graph as a self-contained SVG, laid out by dagre (deterministic: same
 * machine, same bytes).
 *
 * @example
 * ```ts
 * writeFileSync('docs/state-diagram.svg', renderStateDiagram(machineGraph(batonMachine)));
 * ```
 */
export function renderStateDiagram(graph: MachineGraph): string {
  const layout = new dagre.graphlib.Graph({ multigraph: true });
  layout.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 90, edgesep: 14, marginx: MARGIN_PX, marginy: MARGIN_PX });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const state of graph.states) layout.setNode(state, { width: NODE_WIDTH_PX, height: NODE_HEIGHT_PX });
  graph.edges.forEach((edge, index) => {
    if (edge.from === edge.to) return;
    const label = edgeLabel(edge.events);
    layout.setEdge(edge.from, edge.to, { label, width: label.length * LABEL_CHAR_WIDTH_PX, height: LABEL_FONT_PX + 4, labelpos: 'c' }, `e${index}`);
  });
  dagre.layout(layout);
  const size = layout.graph();
  const widthPx = Math.ceil(size.width ?? 800);
  const heightPx = Math.ceil((size.height ?? 600) + TITLE_HEIGHT_PX + FOOTER_HEIGHT_PX);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="Helvetica, Arial, sans-serif">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    `<rect width="${widthPx}" height="${heightPx}" fill="#fff"/>`,
    `<text x="${MARGIN_PX}" y="22" font-size="14" font-weight="bold">Baton protocol machine — generated from src/machine/machine.ts by npm run diagram</text>`,
    `<g transform="translate(0,${TITLE_HEIGHT_PX})">`,
  ];
  for (const id of layout.edges()) {
    const edge = layout.edge(id) as { points?: { x: number; y: number }[]; x?: number; y?: number; label?: string };
    parts.push(`<path d="${pathThrough(edge.points ?? [])}" fill="none" stroke="#667" stroke-width="1" marker-end="url(#arrow)"/>`);
    if (edge.x !== undefined && edge.y !== undefined && edge.label !== undefined) {
      parts.push(`<text x="${edge.x.toFixed(1)}" y="${(edge.y + 3).toFixed(1)}" font-size="${LABEL_FONT_PX}" text-anchor="middle" fill="#234">${escapeXml(edge.label)}</text>`);
    }
  }
  for (const state of graph.states) {
    const node = layout.node(state) as { x: number; y: number };
    const x = node.x - NODE_WIDTH_PX / 2;
    const y = node.y - NODE_HEIGHT_PX / 2;
    const transient = graph.transient.includes(state);
    const fill = state === graph.initial ? '#dff0d8' : transient ? '#f4f4f4' : '#e8f0fb';
    const dash = transient ? ' stroke-dasharray="4 3"' : '';
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${NODE_WIDTH_PX}" height="${NODE_HEIGHT_PX}" rx="10" fill="${fill}" stroke="#345"${dash}/>`,
      `<text x="${node.x.toFixed(1)}" y="${(node.y + 5).toFixed(1)}" font-size="14" text-anchor="middle">${escapeXml(state)}</text>`,
    );
    const selfEvents = graph.edges.find((e) => e.from === state && e.to === state)?.events;
    if (selfEvents !== undefined) {
      parts.push(`<text x="${node.x.toFixed(1)}" y="${(y - 4).toFixed(1)}" font-size="${LABEL_FONT_PX}" text-anchor="middle" fill="#777">↺ ${escapeXml(selfEvents.join(', '))}</text>`);
    }
  }
  parts.push(
    '</g>',
    `<text x="${MARGIN_PX}" y="${heightPx - 10}" font-size="11" fill="#555">Green: initial. Dashed: transient (decides at once, eventless "always"). ↺: handled without leaving the state. In every state callers may send TOKEN_NEEDED / TOKEN_REJECTED.</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
