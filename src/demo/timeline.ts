import type { LaneEvent, IncidentMark } from './analysis.js';

/** Where a lane's process lived: from spawn to exit (or the end of the run). */
export interface LaneSpan {
  readonly lane: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** Everything the timeline page shows. */
export interface TimelineInput {
  readonly title: string;
  /** One line under the title (seed, instances, messages…). */
  readonly subtitle: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly lanes: readonly LaneSpan[];
  readonly events: readonly LaneEvent[];
  readonly incidents: readonly IncidentMark[];
}

/** Width of the plot area, px. */
export const PLOT_WIDTH_PX = 1200;
/** Height of one lane, px. */
export const LANE_HEIGHT_PX = 16;
/** Gap between lanes, px. */
export const LANE_GAP_PX = 4;
/** Width of the lane-name column, px. */
export const LABEL_WIDTH_PX = 56;
/** Height of the band above the lanes (incident labels, auth strip), px. */
export const HEADER_HEIGHT_PX = 60;
/** Height of the time axis, px. */
export const AXIS_HEIGHT_PX = 30;
/** Room an incident label needs beside its line, px. */
export const INCIDENT_LABEL_WIDTH_PX = 150;
/** Rows of incident labels (a label overlapping the previous one moves down a row). */
export const INCIDENT_LABEL_ROWS = 2;
/** Baseline of the first row of incident labels, px. */
export const INCIDENT_LABEL_TOP_PX = 12;
/** Distance between rows of incident labels, px. */
export const INCIDENT_LABEL_ROW_PX = 14;
/** Name of the pseudo-state from process spawn to the coordinator's first state change. */
export const INIT_STATE = 'init (cold start)';

/** Fixed colours of the states we expect; others get one from {@link FALLBACK_COLOURS}. */
export const STATE_COLOURS: Readonly<Record<string, string>> = {
  [INIT_STATE]: '#d9d9d9',
  idle: '#e8f1fb',
  empty: '#f2f2f2',
  cold: '#d9d9d9',
  loading: '#9ecae1',
  reading: '#9ecae1',
  ready: '#74c476',
  holding: '#74c476',
  cached: '#74c476',
  using: '#31a354',
  calling: '#31a354',
  rejected: '#fb6a4a',
  claiming: '#fdae6b',
  refreshing: '#e6550d',
  issuing: '#e6550d',
  publishing: '#fd8d3c',
  waiting: '#9e9ac8',
  following: '#9e9ac8',
  polling: '#9e9ac8',
  'taking-over': '#a50f15',
  backoff: '#756bb1',
  failed: '#67000d',
  stopped: '#525252',
};

/** Colours handed out, in order, to states not in {@link STATE_COLOURS}. */
export const FALLBACK_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'] as const;

/** One drawn run of a state on a lane. */
export interface Segment {
  readonly state: string;
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * The state a lane was in over time, from its `state` events: {@link INIT_STATE} from spawn to
 * the first state event, then each event's `to` until the next one, until the lane ends.
 *
 * @example
 * ```ts
 * laneSegments({ lane: 'i01', startMs: 0, endMs: 100 }, events); // [{ state: 'init (cold start)', startMs: 0, endMs: 12 }, ...]
 * ```
 */
export function laneSegments(span: LaneSpan, events: readonly LaneEvent[]): Segment[] {
  const segments: Segment[] = [];
  let state = INIT_STATE;
  let sinceMs = span.startMs;
  for (const { lane, event } of events) {
    if (lane !== span.lane || event.type !== 'state') continue;
    const atMs = Math.min(Math.max(event.atMs, span.startMs), span.endMs);
    if (atMs > sinceMs) segments.push({ state, startMs: sinceMs, endMs: atMs });
    state = event.to;
    sinceMs = atMs;
  }
  if (span.endMs > sinceMs) segments.push({ state, startMs: sinceMs, endMs: span.endMs });
  return coalesce(segments);
}

/**
 * Downsamples segments to one state per pixel column (the one covering most of it), run-length
 * encoded, so a lane with thousands of millisecond-long states stays a few hundred rectangles.
 *
 * @example
 * ```ts
 * toPixelRuns(segments, 0, 1_000, 100); // [{ state: 'idle', fromPx: 0, toPx: 40 }, ...]
 * ```
 */
export function toPixelRuns(segments: readonly Segment[], startMs: number, endMs: number, widthPx: number): Array<{ state: string; fromPx: number; toPx: number }> {
  const msPerPx = Math.max(1e-9, (endMs - startMs) / widthPx);
  const columns: Array<string | undefined> = new Array<string | undefined>(widthPx).fill(undefined);
  const cover: Array<Map<string, number>> = Array.from({ length: widthPx }, () => new Map<string, number>());
  for (const segment of segments) {
    const from = Math.max(0, Math.floor((segment.startMs - startMs) / msPerPx));
    const to = Math.min(widthPx - 1, Math.floor((segment.endMs - startMs - 1e-9) / msPerPx));
    for (let column = from; column <= to; column += 1) {
      const columnStart = startMs + column * msPerPx;
      const overlap = Math.min(segment.endMs, columnStart + msPerPx) - Math.max(segment.startMs, columnStart);
      if (overlap <= 0) continue;
      const map = cover[column];
      if (map !== undefined) map.set(segment.state, (map.get(segment.state) ?? 0) + overlap);
    }
  }
  cover.forEach((map, column) => {
    let best: string | undefined;
    let bestMs = 0;
    for (const [state, ms] of map) {
      if (ms > bestMs) {
        best = state;
        bestMs = ms;
      }
    }
    columns[column] = best;
  });
  const runs: Array<{ state: string; fromPx: number; toPx: number }> = [];
  columns.forEach((state, column) => {
    if (state === undefined) return;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.state === state && last.toPx === column) last.toPx = column + 1;
    else runs.push({ state, fromPx: column, toPx: column + 1 });
  });
  return runs;
}

/**
 * A self-contained HTML page with an inline SVG timeline: one lane per instance coloured by
 * machine state, incidents as dashed vertical lines, each `POST /auth` as a black triangle,
 * each rejected token as a red tick, and a time axis in seconds. No scripts, no external files.
 *
 * @example
 * ```ts
 * await writeFile('reports/demo-timeline.html', renderTimeline(input));
 * ```
 */
export function renderTimeline(input: TimelineInput): string {
  const spanMs = Math.max(1, input.endMs - input.startMs);
  const x = (atMs: number): number => LABEL_WIDTH_PX + ((atMs - input.startMs) / spanMs) * PLOT_WIDTH_PX;
  const laneY = (index: number): number => HEADER_HEIGHT_PX + index * (LANE_HEIGHT_PX + LANE_GAP_PX);
  const lanesHeight = input.lanes.length * (LANE_HEIGHT_PX + LANE_GAP_PX);
  const height = HEADER_HEIGHT_PX + lanesHeight + AXIS_HEIGHT_PX;
  const width = LABEL_WIDTH_PX + PLOT_WIDTH_PX + 20;
  const colours = assignColours(input);
  const parts: string[] = [];

  input.lanes.forEach((span, index) => {
    const y = laneY(index);
    const runs = toPixelRuns(laneSegments(span, input.events), input.startMs, input.endMs, PLOT_WIDTH_PX);
    const rects = runs
      .map(
        (run) =>
          `<rect x="${LABEL_WIDTH_PX + run.fromPx}" y="${y}" width="${run.toPx - run.fromPx}" height="${LANE_HEIGHT_PX}" fill="${colours.get(run.state) ?? '#000'}"><title>${escapeXml(
            `${span.lane} · ${run.state} · ${seconds(input, run.fromPx)}–${seconds(input, run.toPx)} s`,
          )}</title></rect>`,
      )
      .join('');
    const marks = input.events
      .filter((entry) => entry.lane === span.lane && (entry.event.type === 'issuer-call' || entry.event.type === 'token-rejected'))
      .map(({ event }) => {
        const at = x(event.atMs).toFixed(1);
        if (event.type === 'issuer-call') {
          return `<path class="auth" d="M${at},${y + LANE_HEIGHT_PX - 1} l-5,-10 h10 z"><title>${escapeXml(`${span.lane} POST /auth (${event.outcome}) at ${relative(input, event.atMs)} s`)}</title></path>`;
        }
        if (event.type !== 'token-rejected') return '';
        return `<line class="reject" x1="${at}" x2="${at}" y1="${y}" y2="${y + LANE_HEIGHT_PX}"><title>${escapeXml(`${span.lane} token of generation ${event.generation} rejected at ${relative(input, event.atMs)} s`)}</title></line>`;
      })
      .join('');
    parts.push(
      `<g class="lane" data-lane="${escapeXml(span.lane)}"><text class="label" x="${LABEL_WIDTH_PX - 6}" y="${y + LANE_HEIGHT_PX - 4}">${escapeXml(span.lane)}</text>` +
        `<rect class="lane-bg" x="${LABEL_WIDTH_PX}" y="${y}" width="${PLOT_WIDTH_PX}" height="${LANE_HEIGHT_PX}"/>${rects}${marks}</g>`,
    );
  });

  const rowEndsPx: number[] = [];
  input.incidents.forEach((incident, index) => {
    const atPx = x(incident.atMs);
    const at = atPx.toFixed(1);
    // Labels near the right edge go to the left of their line; a label that would overlap the
    // previous one on its row moves to the next row, so none is cut off or hidden.
    const leftward = atPx + INCIDENT_LABEL_WIDTH_PX > LABEL_WIDTH_PX + PLOT_WIDTH_PX;
    const fromPx = leftward ? atPx - INCIDENT_LABEL_WIDTH_PX : atPx;
    let row = rowEndsPx.findIndex((endPx) => endPx <= fromPx);
    if (row < 0) row = rowEndsPx.length;
    rowEndsPx[row] = fromPx + INCIDENT_LABEL_WIDTH_PX;
    const y = INCIDENT_LABEL_TOP_PX + (row % INCIDENT_LABEL_ROWS) * INCIDENT_LABEL_ROW_PX;
    const label = leftward ? `x="${(atPx - 3).toFixed(1)}" text-anchor="end"` : `x="${(atPx + 3).toFixed(1)}"`;
    parts.push(
      `<g class="incident" data-kind="${incident.kind}"><line x1="${at}" x2="${at}" y1="${y + 4}" y2="${HEADER_HEIGHT_PX + lanesHeight}"/>` +
        `<text ${label} y="${y}">#${index + 1} ${incident.kind} @ ${relative(input, incident.atMs)} s</text></g>`,
    );
  });

  const authAll = input.events.filter(({ event }) => event.type === 'issuer-call');
  parts.push(`<text class="label" x="${LABEL_WIDTH_PX - 6}" y="${HEADER_HEIGHT_PX - 10}">auth</text>`);
  for (const { lane, event } of authAll) {
    const at = x(event.atMs).toFixed(1);
    parts.push(`<path class="auth" d="M${at},${HEADER_HEIGHT_PX - 6} l-5,-10 h10 z"><title>${escapeXml(`POST /auth by ${lane} at ${relative(input, event.atMs)} s`)}</title></path>`);
  }

  parts.push(renderAxis(input, x, HEADER_HEIGHT_PX + lanesHeight));

  const legend = [...colours]
    .map(([state, colour]) => `<span class="key"><span class="swatch" style="background:${colour}"></span>${escapeXml(state)}</span>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(input.title)}</title>
<style>
body{font:13px system-ui,-apple-system,Segoe UI,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 4px}
p.sub{margin:0 0 10px;color:#555}
.legend{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 10px}
.key{display:inline-flex;align-items:center;gap:4px}
.swatch{display:inline-block;width:14px;height:12px;border:1px solid #999}
svg text{font-size:11px;fill:#222}
svg .label{text-anchor:end;font-family:ui-monospace,monospace}
.lane-bg{fill:#fafafa;stroke:#eee}
.incident line{stroke:#c00;stroke-width:1.5;stroke-dasharray:5 3}
.incident text{fill:#c00;font-weight:600}
.auth{fill:#000}
.reject{stroke:#d00;stroke-width:1.5}
.axis line{stroke:#888}
.axis text{text-anchor:middle;fill:#444}
</style></head><body>
<h1>${escapeXml(input.title)}</h1>
<p class="sub">${escapeXml(input.subtitle)}</p>
<div class="legend">${legend}<span class="key"><svg width="12" height="11"><path d="M1,1 h10 l-5,9 z" fill="#000"/></svg>POST /auth</span><span class="key"><svg width="6" height="11"><line x1="3" x2="3" y1="0" y2="11" stroke="#d00"/></svg>token rejected (401)</span><span class="key"><svg width="16" height="11"><line x1="8" x2="8" y1="0" y2="11" stroke="#c00" stroke-dasharray="3 2" stroke-width="1.5"/></svg>incident</span></div>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="timeline">
${parts.join('\n')}
</svg>
</body></html>
`;
}

/**
 * Tick spacing for an axis of `spanMs`: the smallest of 1, 2, 5, 10, 15, 30, 60 … seconds giving
 * at most 15 ticks.
 *
 * @example
 * ```ts
 * tickStepS(60_000); // 5
 * ```
 */
export function tickStepS(spanMs: number): number {
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
  for (const step of steps) if (spanMs / 1_000 / step <= 15) return step;
  return steps[steps.length - 1] ?? 600;
}

function renderAxis(input: TimelineInput, x: (atMs: number) => number, top: number): string {
  const spanMs = Math.max(1, input.endMs - input.startMs);
  const step = tickStepS(spanMs);
  const ticks: string[] = [`<line x1="${LABEL_WIDTH_PX}" x2="${LABEL_WIDTH_PX + PLOT_WIDTH_PX}" y1="${top + 2}" y2="${top + 2}"/>`];
  for (let s = 0; s * 1_000 <= spanMs + 1e-6; s += step) {
    const at = x(input.startMs + s * 1_000).toFixed(1);
    ticks.push(`<line x1="${at}" x2="${at}" y1="${top + 2}" y2="${top + 7}"/><text x="${at}" y="${top + 19}">${Number(s.toFixed(1))} s</text>`);
  }
  return `<g class="axis">${ticks.join('')}</g>`;
}

function assignColours(input: TimelineInput): Map<string, string> {
  const states: string[] = [INIT_STATE];
  for (const { event } of input.events) if (event.type === 'state' && !states.includes(event.to)) states.push(event.to);
  const colours = new Map<string, string>();
  let fallback = 0;
  for (const state of states) {
    const fixed = STATE_COLOURS[state];
    if (fixed !== undefined) colours.set(state, fixed);
    else colours.set(state, FALLBACK_COLOURS[fallback++ % FALLBACK_COLOURS.length] ?? '#000');
  }
  return colours;
}

function coalesce(segments: readonly Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const segment of segments) {
    const last = out[out.length - 1];
    if (last !== undefined && last.state === segment.state && last.endMs === segment.startMs) out[out.length - 1] = { ...last, endMs: segment.endMs };
    else out.push(segment);
  }
  return out;
}

function seconds(input: TimelineInput, px: number): string {
  return (((input.endMs - input.startMs) * (px / PLOT_WIDTH_PX)) / 1_000).toFixed(2);
}

function relative(input: TimelineInput, atMs: number): string {
  return ((atMs - input.startMs) / 1_000).toFixed(2);
}

/**
 * Escapes text for XML/HTML content and attributes.
 *
 * @example
 * ```ts
 * escapeXml('<a & b>'); // '&lt;a &amp; b&gt;'
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
