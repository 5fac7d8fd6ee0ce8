import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BenchResult } from '../../bench/core/result.js';
import { CHART_FILES, renderCharts } from '../../bench/report/charts.js';
import { renderMarkdown } from '../../bench/report/markdown.js';
import type { BenchReport } from '../../bench/report/report.js';
import { evaluateTargets } from '../../bench/report/targets.js';
import { writeReport } from '../../bench/report/write.js';

function row(strategy: BenchResult['strategy'], instances: number, auth: number, settle: number | null): BenchResult {
  return {
    strategy,
    scenario: 'invalidation-burst',
    mode: 'virtual',
    instances,
    authCallsPerIncident: auth,
    rejectionsPerIncident: instances,
    ddbReadsPerIncident: 4 * instances,
    ddbWritesPerIncident: 2,
    settleMsP50: settle,
    settleMsP99: settle === null ? null : settle + 40,
    lostMessages: strategy === 'naive' ? 7 : 0,
  };
}

const results: BenchResult[] = [
  row('baton', 1, 1, 380),
  row('naive', 1, 1, 390),
  row('baton', 10, 1, 400.5),
  row('naive', 10, 240.67, null),
  row('baton', 1000, 1, 420),
  row('naive', 1000, 1000, 450),
];
const warmPath = { ddbCallsPer1000: 0, overheadNsPerCall: 250.5 };
const report: BenchReport = {
  generatedAt: '2030-01-01T00:00:00.000Z',
  seed: 7,
  quick: false,
  parameters: { authMs: 300, ddbMs: 10, batonPollMs: null, modes: ['virtual'] },
  results,
  warmPath,
  memoryBytesPerInstance: 4_000,
  targets: evaluateTargets({ results, warmPath, authMs: 300, ddbMs: 10 }),
};

describe('bench report', () => {
  it('judges the targets from the numbers, a miss included', () => {
    const byName = (part: string) => report.targets.find((t) => t.name.includes(part));
    expect(byName('POST /auth')).toMatchObject({ met: true, value: 1, limit: 1 });
    expect(byName('settle p50')).toMatchObject({ met: false, value: 420, limit: 412.5 });
    expect(byName('warm messages')).toMatchObject({ met: true, value: 0 });
    expect(byName('overhead')).toMatchObject({ met: true, value: 250.5, limit: 2_000 });
    expect(byName('lost')).toMatchObject({ met: true, value: 0 });
  });

  it('renders the same Markdown and SVG for the same report, with every result row and a log-scale N axis', () => {
    const markdown = renderMarkdown(report);
    expect(renderMarkdown(report)).toBe(markdown);
    expect(markdown).toContain('| naive | virtual | 10 | 240.67 |');
    expect(markdown).toContain('never settled');
    expect(markdown).toContain('**no**');
    expect(markdown).not.toContain('undefined');
    expect(markdown).not.toContain('NaN');
    const charts = renderCharts(results);
    expect(renderCharts(results)).toEqual(charts);
    const auth = charts[CHART_FILES.authPerIncident] ?? '';
    const settle = charts[CHART_FILES.settle] ?? '';
    for (const svg of [auth, settle]) {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg).not.toContain('NaN');
      expect(svg).toContain('>1k<');
    }
    expect(settle).toContain('naive (virtual) (1 never settled)');
  });

  it('writes byte-identical files twice; docs only when asked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const paths = { jsonPath: join(dir, 'reports', 'bench.json'), docsDir: join(dir, 'docs') };
      const first = writeReport(report, paths).map((path) => readFileSync(path, 'utf8'));
      const second = writeReport(report, paths).map((path) => readFileSync(path, 'utf8'));
      expect(second).toEqual(first);
      expect(first).toHaveLength(4);
      expect(JSON.parse(first[0] ?? '{}')).toMatchObject({ seed: 7, quick: false, warmPath, memoryBytesPerInstance: 4_000 });
      expect(writeReport(report, { jsonPath: paths.jsonPath, docsDir: undefined })).toEqual([paths.jsonPath]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
