/**
 * Hand-made SVG line charts: plain strings, fixed number formatting, no dependencies, so the
 * same results always give byte-identical files.
 */

/** One line of a chart. */
export interface ChartSeries {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number | null }[];
}

/** A chart's content. */
export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  /** Logarithmic y axis (for counts spanning decades). */
  readonly logY: boolean;
}

const WIDTH = 760;
const HEIGHT = 360;
const MARGIN = { left: 70, right: 250, top: 40, bottom: 50 } as const;
/** Colour per series, in order (colour-blind-safe palette). */
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'] as const;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fixed(value: number): string {
  return value.toFixed(1);
}

function niceTicksLinear(max: number): number[] {
  const top = max <= 0 ? 1 : max;
  const step = 10 ** Math.floor(Math.log10(top));
  const unit = top / step > 5 ? step * 2 : top / step > 2 ? step : step / 2;
  const ticks: number[] = [];
  for (let tick = 0; tick <= top + unit / 2 && ticks.length < 12; tick += unit) ticks.push(tick);
  return ticks;
}

function decadeTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let exponent = Math.floor(Math.log10(min)); exponent <= Math.ceil(Math.log10(max)) && ticks.length < 12; exponent += 1) ticks.push(10 ** exponent);
  return ticks;
}

function label(value: number): string {
  return value >= 1_000 ? `${value / 1_000}k` : String(value);
}

/**
 * Renders `chart` with a log-scale x axis (fleet size N). Missing points (`null`, a run that
 * never settled) break the line and are listed in the legend.
 *
 * @example
 * ```ts
 * renderLineChart({ title: 'POST /auth per incident', xLabel: 'N', yLabel: 'calls', logY: true, series: [{ name: 'baton', points: [{ x: 1, y: 1 }] }] });
 * ```
 */
export function renderLineChart(chart: LineChart): string {
  const xs = chart.series.flatMap((series) => series.points.map((point) => point.x)).filter((x) => x > 0);
  const ys = chart.series.flatMap((series) => series.points.map((point) => point.y)).filter((y): y is number => y !== null);
  const xTicks = decadeTicks(Math.min(1, ...xs), Math.max(10, ...xs));
  const xMin = xTicks[0] ?? 1;
  const xMax = xTicks[xTicks.length - 1] ?? 10;
  const yPositive = ys.filter((y) => y > 0);
  const yTicks = chart.logY ? decadeTicks(Math.min(1, ...yPositive), Math.max(10, ...yPositive)) : niceTicksLinear(Math.max(0, ...ys));
  const yMin = chart.logY ? (yTicks[0] ?? 1) : 0;
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number): number => MARGIN.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotW;
  const py = (y: number): number => {
    const fraction = chart.logY ? (Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) : (y - yMin) / (yMax - yMin || 1);
    return MARGIN.top + plotH - fraction * plotH;
  };
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  parts.push(`<title>${escapeXml(chart.title)}</title>`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  parts.push(`<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`);
  for (const tick of xTicks) {
    const x = fixed(px(tick));
    parts.push(`<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${label(tick)}</text>`);
  }
  for (const tick of yTicks) {
    const y = fixed(py(tick));
    parts.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(tick)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  parts.push(`<text x="16" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + plotH / 2})">${escapeXml(chart.yLabel)}</text>`);
  chart.series.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length] ?? '#000000';
    const segments: string[][] = [[]];
    let missing = 0;
    for (const point of series.points) {
      if (point.y === null) {
        missing += 1;
        segments.push([]);
        continue;
      }
      segments[segments.length - 1]?.push(`${fixed(px(point.x))},${fixed(py(point.y))}`);
      parts.push(`<circle cx="${fixed(px(point.x))}" cy="${fixed(py(point.y))}" r="3.5" fill="${colour}"/>`);
    }
    for (const segment of segments) if (segment.length > 1) parts.push(`<polyline points="${segment.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    const legendY = MARGIN.top + 10 + index * 20;
    const legendX = MARGIN.left + plotW + 12;
    parts.push(`<line x1="${legendX}" y1="${legendY}" x2="${legendX + 18}" y2="${legendY}" stroke="${colour}" stroke-width="2"/>`);
    const note = missing > 0 ? ` (${missing} never settled)` : '';
    parts.push(`<text x="${legendX + 24}" y="${legendY}" dominant-baseline="middle">${escapeXml(series.name + note)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
