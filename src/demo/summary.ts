import type { DemoReport } from './report.js';

/**
 * The end-of-run summary as plain text: messages, auth calls, each incident's cost and settle
 * time, DynamoDB traffic, takeovers, duration and the invariants.
 *
 * @example
 * ```ts
 * process.stdout.write(renderSummary(report));
 * ```
 */
export function renderSummary(report: DemoReport): string {
  const ms = (value: number | null): string => (value === null ? 'n/a' : `${value} ms`);
  const lines: string[] = [];
  const rows: Array<[string, string]> = [
    ['messages sent / delivered / failed', `${report.messages.sent} / ${report.messages.delivered} / ${report.messages.failed}`],
    ['duplicates (redelivered, recognised)', String(report.messages.duplicates)],
    ['redeliveries (of which 503 not-sent answers; the rest 429 pool throttles)', `${report.messages.redeliveries} (${report.messages.notSentAnswers})`],
    ['POST /auth by the fleet (as counted by the chat API)', `${report.totals.authCalls} (${report.totals.chatApi.authCalls})`],
    ['401 rejections', String(report.totals.rejections)],
    ['DynamoDB reads / writes', `${report.totals.ddbReads} / ${report.totals.ddbWrites} (${report.totals.ddbWritesConditionFailed} condition-failed)`],
    ['takeovers / fenced / alarms', `${report.totals.takeovers} / ${report.totals.fenced} / ${report.totals.alarms}`],
    ['settle p50 / p99 / max', `${ms(report.settleMs.p50)} / ${ms(report.settleMs.p99)} / ${ms(report.settleMs.max)}`],
    ['new token out after, p50 / max', `${ms(report.publishMs.p50)} / ${ms(report.publishMs.max)}`],
    ['worst instance recovery, p50 / max', `${ms(report.recoverMs.p50)} / ${ms(report.recoverMs.max)}`],
    ['instances started (cold / warm invocations)', `${report.pool.started} (${report.pool.coldStarts} / ${report.pool.warmStarts})`],
    ['timeouts / crashes / throttles', `${report.pool.timeouts} / ${report.pool.crashes} / ${report.pool.throttles}`],
    ['duration', `${(report.durationMs / 1_000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  lines.push('', 'Summary', '-------');
  for (const [label, value] of rows) lines.push(`${label.padEnd(width)}  ${value}`);

  lines.push('', 'Windows (atMs from traffic start)');
  const header = ['#', 'kind', 'at', 'POST /auth', '401s', 'instances hit', 'settle', 'token out', 'worst recovery'];
  const table = [report.bootstrap, ...report.incidents].map((window, index) => [
    index === 0 ? '-' : String(index),
    window.kind,
    `${(window.atMs / 1_000).toFixed(2)} s`,
    String(window.authCalls),
    String(window.rejections),
    String(window.rejectedInstances),
    ms(window.settleMs),
    ms(window.publishMs),
    ms(window.recoverMsMax),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...table.map((row) => (row[column] ?? '').length)));
  const format = (row: readonly string[]): string => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  lines.push(format(header), format(widths.map((w) => '-'.repeat(w))));
  for (const row of table) lines.push(format(row));

  lines.push('', 'Invariants');
  for (const check of report.invariants) lines.push(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.detail}`);
  lines.push('');
  return `${lines.join('\n')}\n`;
}
