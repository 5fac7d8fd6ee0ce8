/**
 * Writes the report files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderCharts } from './charts.js';
import { renderMarkdown } from './markdown.js';
import { reportJson } from './report.js';
import type { BenchReport } from './report.js';

/** Where the files go. */
export interface ReportPaths {
  /** `reports/bench.json`. */
  readonly jsonPath: string;
  /** Directory of `benchmarks.md` and the charts; `undefined` to skip the docs (`--quick`). */
  readonly docsDir: string | undefined;
}

/**
 * Writes the JSON report and, unless `docsDir` is undefined, docs/benchmarks.md and the charts.
 * Returns the paths written.
 *
 * @example
 * ```ts
 * writeReport(report, { jsonPath: 'reports/bench.json', docsDir: 'docs' });
 * ```
 */
export function writeReport(report: BenchReport, paths: ReportPaths): string[] {
  const written: string[] = [];
  mkdirSync(dirname(paths.jsonPath), { recursive: true });
  writeFileSync(paths.jsonPath, reportJson(report));
  written.push(paths.jsonPath);
  if (paths.docsDir !== undefined) {
    mkdirSync(paths.docsDir, { recursive: true });
    const markdownPath = join(paths.docsDir, 'benchmarks.md');
    writeFileSync(markdownPath, `${renderMarkdown(report)}\n`);
    written.push(markdownPath);
    for (const [file, svg] of Object.entries(renderCharts(report.results))) {
      const path = join(paths.docsDir, file);
      writeFileSync(path, svg);
      written.push(path);
    }
  }
  return written;
}
