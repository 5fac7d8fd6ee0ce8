/**
 * The report object written to `reports/bench.json`.
 */
import type { BenchResult, WarmPathResult } from '../core/result.js';
import type { TargetResult } from './targets.js';

/** Latencies and knobs the run used (so a reader can recompute the settle limit). */
export interface BenchParameters {
  readonly authMs: number;
  readonly ddbMs: number;
  /** Baton's `pollMs` when set on the command line; `null` = library default (100). */
  readonly batonPollMs: number | null;
  /** Which modes ran. */
  readonly modes: readonly ('virtual' | 'wall')[];
}

/** `reports/bench.json`. */
export interface BenchReport {
  readonly generatedAt: string;
  readonly seed: number;
  readonly quick: boolean;
  readonly parameters: BenchParameters;
  readonly results: readonly BenchResult[];
  readonly warmPath: WarmPathResult;
  readonly memoryBytesPerInstance: number;
  readonly targets: readonly TargetResult[];
}

/**
 * The JSON text of a report (stable key order, two-space indent, final newline).
 *
 * @example
 * ```ts
 * writeFileSync('reports/bench.json', reportJson(report));
 * ```
 */
export function reportJson(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
