/**
 * `npm run bench`: Baton against naive, textbook and lock-client, in virtual time and on the
 * wall clock, plus Baton's warm path; writes reports/bench.json and (full runs) docs/benchmarks.md
 * with its charts. See `--help`.
 */
import { BenchUsageError, USAGE, parseBenchArgs } from './core/args.js';
import type { BenchArgs } from './core/args.js';
import type { BenchResult } from './core/result.js';
import { evaluateTargets } from './report/targets.js';
import { writeReport } from './report/write.js';
import type { BenchReport } from './report/report.js';
import { runVirtualBench } from './virtual/run.js';
import { runWarmBench } from './warm/run.js';

function formatResult(result: BenchResult): string {
  const settle = (value: number | null): string => (value === null ? 'never' : `${value}`);
  return (
    `${result.mode.padEnd(7)} ${result.strategy.padEnd(8)} ${result.scenario.padEnd(18)} N=${String(result.instances).padStart(4)}: ` +
    `auth/inc ${result.authCallsPerIncident}, 401/inc ${result.rejectionsPerIncident}, reads/inc ${result.ddbReadsPerIncident}, ` +
    `writes/inc ${result.ddbWritesPerIncident}, settle p50 ${settle(result.settleMsP50)} ms p99 ${settle(result.settleMsP99)} ms, lost ${result.lostMessages}`
  );
}

async function runWall(args: BenchArgs): Promise<BenchResult[]> {
  // The SDK's notice about future Node versions is noise in a bench log (the demo silences it too).
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  // Loaded only when asked for: the wall-clock bench pulls in dynalite, the AWS SDKs and workers.
  const { runWallBench } = await import('./wall/run.js');
  const { WALL_BURST_INSTANCES, WALL_QUICK } = await import('./wall/plan.js');
  // `--quick` runs the wall-clock bench's own CI subset of the scenarios asked for (all of them when none is in it).
  const quickScenarios = args.scenarios.filter((scenario) => (WALL_QUICK.scenarios as readonly string[]).includes(scenario));
  return runWallBench({
    quick: args.quick,
    seed: args.seed,
    instances: args.instances ?? (args.quick ? WALL_QUICK.instances : WALL_BURST_INSTANCES),
    scenarios: args.quick && quickScenarios.length > 0 ? quickScenarios : args.scenarios,
    strategies: args.strategies,
    authMs: args.authMs,
    log: (line) => console.log(line),
  });
}

async function main(argv: readonly string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    console.error(`bench: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const startedAtMs = performance.now();
  console.log(
    `bench: seed ${args.seed}${args.quick ? ', --quick' : ''}, mode ${args.mode}, auth ${args.authMs} ms, DynamoDB ${args.ddbMs} ms` +
      `${args.batonPollMs === undefined ? '' : `, Baton pollMs ${args.batonPollMs}`} (replay with --seed ${args.seed})`,
  );
  const results: BenchResult[] = [];
  if (args.mode !== 'wall') {
    const virtualStartedAtMs = performance.now();
    results.push(
      ...(await runVirtualBench({
        quick: args.quick,
        seed: args.seed,
        ...(args.instances === undefined ? {} : { instances: args.instances }),
        scenarios: args.scenarios,
        strategies: args.strategies,
        authMs: args.authMs,
        ddbMs: args.ddbMs,
        ...(args.batonPollMs === undefined ? {} : { batonPollMs: args.batonPollMs }),
        onResult: (result, elapsedMs) => console.log(`${formatResult(result)} (${(elapsedMs / 1_000).toFixed(1)} s)`),
      })),
    );
    console.log(`virtual: done in ${((performance.now() - virtualStartedAtMs) / 1_000).toFixed(1)} s`);
  }
  if (args.mode !== 'virtual') results.push(...(await runWall(args)));
  const warm = await runWarmBench({ quick: args.quick });
  console.log(
    `warm path: ${warm.warmPath.ddbCallsPer1000} DynamoDB calls per 1000 messages, withToken overhead ${warm.warmPath.overheadNsPerCall} ns/call ` +
      `(${warm.detail.withTokenNsPerCall} vs ${warm.detail.directNsPerCall} direct), ${warm.memoryBytesPerInstance} bytes per instance`,
  );
  const report: BenchReport = {
    generatedAt: new Date().toISOString(),
    seed: args.seed,
    quick: args.quick,
    parameters: { authMs: args.authMs, ddbMs: args.ddbMs, batonPollMs: args.batonPollMs ?? null, modes: args.mode === 'all' ? ['virtual', 'wall'] : [args.mode] },
    results,
    warmPath: warm.warmPath,
    memoryBytesPerInstance: warm.memoryBytesPerInstance,
    targets: evaluateTargets({ results, warmPath: warm.warmPath, authMs: args.authMs, ddbMs: args.ddbMs }),
  };
  for (const target of report.targets) console.log(`target ${target.met ? 'met   ' : 'MISSED'} ${target.name}: ${target.value ?? 'never settled'} (limit ${target.limit})`);
  const writeDocs = !args.quick && !args.filtered;
  const written = writeReport(report, { jsonPath: args.jsonPath, docsDir: writeDocs ? args.docsDir : undefined });
  console.log(`wrote ${written.join(', ')}${writeDocs ? '' : ' (docs are written by full, unfiltered runs only)'}`);
  console.log(`bench: done in ${((performance.now() - startedAtMs) / 1_000).toFixed(1)} s`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
