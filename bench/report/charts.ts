/**
 * The two charts of docs/benchmarks.md, from the invalidation-burst results.
 */
import type { BenchMode, BenchResult } from '../core/result.js';
import { renderLineChart } from './svg.js';
import type { ChartSeries } from './svg.js';

/** File names of the charts (in the docs directory). */
export const CHART_FILES = { authPerIncident: 'bench-auth-per-incident.svg', settle: 'bench-settle.svg' } as const;

function seriesOf(results: readonly BenchResult[], pick: (result: BenchResult) => number | null): ChartSeries[] {
  const burst = results.filter((result) => result.scenario === 'invalidation-burst');
  const names: string[] = [];
  for (const result of burst) {
    const name = `${result.strategy} (${result.mode})`;
    if (!names.includes(name)) names.push(name);
  }
  return names.map((name) => ({
    name,
    points: burst
      .filter((result) => `${result.strategy} (${result.mode})` === name)
      .sort((a, b) => a.instances - b.instances)
      .map((result) => ({ x: result.instances, y: pick(result) })),
  }));
}

/**
 * SVG texts of both charts, keyed by file name.
 *
 * @example
 * ```ts
 * for (const [file, svg] of Object.entries(renderCharts(results))) writeFileSync(`docs/${file}`, svg);
 * ```
 */
export function renderCharts(results: readonly BenchResult[]): Record<string, string> {
  const modes = new Set<BenchMode>(results.map((result) => result.mode));
  const suffix = modes.size === 1 ? ` (${[...modes].join('')})` : '';
  return {
    [CHART_FILES.authPerIncident]: renderLineChart({
      title: `POST /auth per incident vs fleet size, invalidation burst${suffix}`,
      xLabel: 'instances N (log scale)',
      yLabel: 'POST /auth calls per incident (log scale)',
      logY: true,
      series: seriesOf(results, (result) => result.authCallsPerIncident),
    }),
    [CHART_FILES.settle]: renderLineChart({
      title: `Settle time p50 vs fleet size, invalidation burst${suffix}`,
      xLabel: 'instances N (log scale)',
      yLabel: 'settle p50, ms',
      logY: false,
      series: seriesOf(results, (result) => result.settleMsP50),
    }),
  };
}
