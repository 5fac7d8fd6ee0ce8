/**
 * `npm run demo`: N Lambda-like worker processes share one chat-API token through one DynamoDB
 * item while the fake chat service delivers M webhooks and incidents invalidate or expire the
 * token. Prints a summary, writes `reports/demo.json` and `reports/demo-timeline.html`, and exits
 * non-zero if a message was lost or an invariant broke.
 */
import { setMaxListeners } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fingerprint } from '../runtime/fingerprint.js';
import { analyzeWindows, byTime, countTotals } from './analysis.js';
import { EXIT_USAGE, NUMERIC_FLAGS, defaultSpreadMs, parseArgs } from './args.js';
import type { DemoOptions } from './args.js';
import { startChat } from './chat.js';
import type { DemoChat } from './chat.js';
import { EventLog } from './collect.js';
import { DEFAULT_DELIVERY_POLICY, deliverAll } from './driver.js';
import { DEMO_REGION, LOCAL_CREDENTIALS, startDynamo } from './dynamo.js';
import type { DemoDynamo } from './dynamo.js';
import { startFunctionUrlEndpoint } from './endpoint.js';
import type { FunctionUrlEndpoint } from './endpoint.js';
import { injectIncidents } from './incidents.js';
import type { FiredIncident } from './incidents.js';
import { planIncidents, planMessages } from './plan.js';
import { LambdaPool } from './pool.js';
import type { PoolLifecycleEvent } from './pool.js';
import { startProgress } from './progress.js';
import { buildReport } from './report.js';
import { createRng } from './rng.js';
import { sleep } from './sleep.js';
import { renderSummary } from './summary.js';
import { renderTimeline } from './timeline.js';
import type { LaneSpan } from './timeline.js';
import { WORKER_ENV } from './worker-env.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

/** Pool limits: Lambda-like timeouts, bounded queue. */
export const POOL_LIMITS = {
  queueLimit: 2_000,
  queueWaitMsMax: 10_000,
  startTimeoutMs: 20_000,
  invocationTimeoutMs: 15_000,
  closeTimeoutMs: 3_000,
} as const;
/** Reply deadline given to the handler (below the invocation timeout, so it answers 503 in time). */
export const REPLY_DEADLINE_MS = 10_000;
/** Run time limit beyond the spread of arrivals (redeliveries, slow machines). */
export const RUN_OVERTIME_MS_MAX = 180_000;
/** Delay between setup and the first planned arrival. */
export const TRAFFIC_START_DELAY_MS = 100;
/** Time to let the last forwarded events arrive after the last delivery. */
export const EVENT_DRAIN_MS = 300;
/** Lines of a failed worker's output shown on stderr. */
export const WORKER_TAIL_LINES = 10;
/** Exit code of a run that lost a message or broke an invariant. */
export const EXIT_FAILED = 1;
/** Exit code when the demo could not even set up (DynamoDB unreachable, port in use, …). */
export const EXIT_SETUP_FAILED = 3;
/** Exit code after Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

const workerPath = fileURLToPath(new URL('./worker.js', import.meta.url));

async function run(options: DemoOptions): Promise<number> {
  const err = process.stderr;
  const runId = `${options.seed}-${Date.now().toString(36)}`;
  err.write(
    `Baton demo · seed ${options.seed} · ${options.instances} instances · ${options.messages} messages over ${(options.spreadMs / 1_000).toFixed(1)} s · ` +
      `${options.incidents} incidents · POST /auth latency ${options.authLatencyMs} ms\n` +
      `  replay: npm run demo -- ${replayFlags(options)}\n`,
  );

  const rng = createRng(options.seed);
  const messages = planMessages(rng.fork('messages'), options.messages, options.spreadMs);
  const incidents = planIncidents(rng.fork('incidents'), options.incidents, options.spreadMs);
  const poolRng = rng.fork('pool');
  const driverRng = rng.fork('driver');

  const runAbort = new AbortController();
  // Every in-flight webhook and back-off listens to the run signal; their number is bounded by the plan.
  setMaxListeners(options.messages + DEFAULT_DELIVERY_POLICY.concurrencyMax + 16, runAbort.signal);
  const runTimer = setTimeout(() => runAbort.abort(new Error('run time limit reached')), options.spreadMs + RUN_OVERTIME_MS_MAX);
  runTimer.unref();
  let interrupted = false;
  let pool: LambdaPool | undefined;
  const onSignal = (): void => {
    if (interrupted) {
      pool?.killAllNow();
      process.exit(EXIT_INTERRUPTED);
    }
    interrupted = true;
    err.write('\ninterrupted: stopping deliveries and shutting every worker down (Ctrl-C again to kill at once)\n');
    runAbort.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => pool?.killAllNow());

  const log = new EventLog();
  const lifecycle: PoolLifecycleEvent[] = [];
  const pids = new Set<number>();
  let dynamo: DemoDynamo | undefined;
  let chat: DemoChat | undefined;
  let endpoint: FunctionUrlEndpoint | undefined;
  let stopProgress: (() => void) | undefined;
  const fired: FiredIncident[] = [];
  try {
    dynamo = await startDynamo({ external: options.endpoint, itemKey: `demo-${runId}` });
    chat = await startChat({ seed: options.seed, authLatencyMs: options.authLatencyMs, messageLatencyMs: options.messageLatencyMs });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      CHAT_API_URL: chat.server.url,
      CHAT_AUTH_SECRET: chat.secret,
      BATON_TABLE: dynamo.tableName,
      BATON_KEY: dynamo.itemKey,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      AWS_REGION: DEMO_REGION,
      BOT_REPLY_DEADLINE_MS: String(REPLY_DEADLINE_MS),
      [WORKER_ENV.seed]: String(options.seed),
      ...(process.env['AWS_ACCESS_KEY_ID'] === undefined
        ? { AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey }
        : {}),
    };
    const livePool = new LambdaPool({
      workerPath,
      maxInstances: options.instances,
      ...POOL_LIMITS,
      env,
      laneEnvName: WORKER_ENV.lane,
      random: () => poolRng.next(),
      onWorkerEvent: (lane, event) => log.add(lane, event),
      onLifecycle: (event) => {
        lifecycle.push(event);
        if (event.type === 'spawn' && event.pid !== undefined) pids.add(event.pid);
        if (event.type === 'timeout') {
          err.write(`\nworker ${event.lane} timed out after ${POOL_LIMITS.invocationTimeoutMs} ms and was killed; its last output:\n`);
          for (const line of pool?.output(event.lane).slice(-WORKER_TAIL_LINES) ?? []) err.write(`  ${event.lane}| ${line}\n`);
        }
        if (event.type === 'exit' && !event.expected) {
          err.write(`\nworker ${event.lane} exited unexpectedly (code ${event.code ?? 'none'}, signal ${event.signal ?? 'none'}); its last output:\n`);
          for (const line of pool?.output(event.lane).slice(-WORKER_TAIL_LINES) ?? []) err.write(`  ${event.lane}| ${line}\n`);
        }
      },
    });
    pool = livePool;
    endpoint = await startFunctionUrlEndpoint({ invoke: (event) => livePool.invoke(event) });
    err.write(`  dynamodb ${dynamo.kind} ${dynamo.endpoint} · chat ${chat.server.url} · function URL ${endpoint.url}\n`);

    const startAtMs = Date.now() + TRAFFIC_START_DELAY_MS;
    const driver = deliverAll({
      url: `${endpoint.url}/webhook`,
      messages,
      startAtMs,
      policy: DEFAULT_DELIVERY_POLICY,
      rng: driverRng,
      signal: runAbort.signal,
    });
    const injectorAbort = new AbortController();
    const injector = injectIncidents({
      chatUrl: chat.server.url,
      incidents,
      startAtMs,
      lastPublishAtMs: () => log.lastPublishAtMs(),
      signal: AbortSignal.any([runAbort.signal, injectorAbort.signal]),
      onFired: (incident) => fired.push(incident),
    });
    stopProgress = startProgress(err, () => {
      const progress = driver.progress();
      const stats = livePool.stats();
      return {
        total: messages.length,
        delivered: progress.delivered,
        failed: progress.failed,
        inFlight: progress.inFlight,
        retries: progress.retries,
        alive: stats.alive,
        instancesMax: options.instances,
        incidentsFired: fired.length,
        incidentsTotal: incidents.length,
        authCalls: log.authCalls(),
        elapsedMs: Math.max(0, Date.now() - startAtMs),
      };
    });
    const records = await driver.done;
    injectorAbort.abort();
    await injector;
    await sleep(EVENT_DRAIN_MS);
    const endedAtMs = Date.now();
    stopProgress();
    stopProgress = undefined;

    const storeRecord = await dynamo.readItem().catch(() => undefined);
    const chatStats = chat.server.api.stats();
    const chatDelivered = chat.server.api.delivered();
    const chatCurrent = chat.server.api.current();
    const poolStats = livePool.stats();
    const lanes = livePool.lanes();
    await livePool.close();
    const orphanPids = [...pids].filter(isAlive);

    const events = byTime(log.events());
    const windows = analyzeWindows(events, fired, endedAtMs);
    const jsonPath = resolve(options.jsonPath);
    const htmlPath = resolve(options.htmlPath);
    const report = buildReport({
      options,
      dynamodb: `${dynamo.kind} ${dynamo.endpoint}`,
      startedAtMs: startAtMs,
      endedAtMs,
      plannedIds: messages.map((message) => message.messageId),
      records,
      windows,
      fired,
      totals: countTotals(events),
      eventLosses: log.losses(),
      chatStats,
      chatDelivered,
      chatCurrent,
      storeItem:
        storeRecord === undefined
          ? undefined
          : { generation: storeRecord.generation, tokenFingerprint: storeRecord.token === undefined ? undefined : fingerprint(storeRecord.token) },
      pool: { ...poolStats, lanes },
      orphanPids,
      timelinePath: htmlPath,
    });
    if (interrupted) err.write('run was interrupted: the report covers what happened until then\n');

    const spans = laneSpans(lanes, lifecycle, endedAtMs);
    const html = renderTimeline({
      title: `Baton demo — ${options.instances} instances, ${options.messages} messages, ${options.incidents} incidents`,
      subtitle:
        `seed ${options.seed} · ${(report.durationMs / 1_000).toFixed(1)} s · POST /auth ${report.totals.authCalls} · ` +
        `settle p50 ${report.settleMs.p50 ?? 'n/a'} ms, max ${report.settleMs.max ?? 'n/a'} ms · invariants ${report.invariants.every((check) => check.ok) ? 'all ok' : 'BROKEN'}`,
      startMs: startAtMs,
      endMs: endedAtMs,
      lanes: spans,
      events,
      incidents: fired,
    });
    await mkdir(dirname(jsonPath), { recursive: true });
    await mkdir(dirname(htmlPath), { recursive: true });
    await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(htmlPath, html);
    await writeFile(resolve(options.eventsPath), events.map((entry) => JSON.stringify({ lane: entry.lane, ...entry.event, tMs: entry.event.atMs - startAtMs })).join('\n') + '\n');
    process.stdout.write(renderSummary(report));
    process.stdout.write(`report: ${jsonPath}\ntimeline: ${htmlPath}\nevents: ${resolve(options.eventsPath)}\n`);
    // With an outside endpoint the item outlives the run: say where it is, so `baton status` can find it.
    if (options.endpoint !== undefined) process.stdout.write(`token item: table ${dynamo.tableName}, key ${dynamo.itemKey} at ${dynamo.endpoint}\n`);
    if (interrupted) return EXIT_INTERRUPTED;
    return report.invariants.every((check) => check.ok) ? 0 : EXIT_FAILED;
  } finally {
    stopProgress?.();
    clearTimeout(runTimer);
    await pool?.close();
    await endpoint?.close();
    await chat?.server.close();
    await dynamo?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The flags that reproduce this run's plan (seed and sizes always, the rest when not default). */
function replayFlags(options: DemoOptions): string {
  const flags = [`--seed ${options.seed}`, `--instances ${options.instances}`, `--messages ${options.messages}`, `--incidents ${options.incidents}`];
  if (options.authLatencyMs !== NUMERIC_FLAGS['auth-latency-ms'].default) flags.push(`--auth-latency-ms ${options.authLatencyMs}`);
  if (options.messageLatencyMs !== NUMERIC_FLAGS['message-latency-ms'].default) flags.push(`--message-latency-ms ${options.messageLatencyMs}`);
  if (options.spreadMs !== defaultSpreadMs(options.messages)) flags.push(`--spread-ms ${options.spreadMs}`);
  return flags.join(' ');
}

/** From each lane's spawn to its exit (or the end of the run). */
function laneSpans(lanes: readonly string[], lifecycle: readonly PoolLifecycleEvent[], endMs: number): LaneSpan[] {
  return lanes.map((lane) => {
    const spawn = lifecycle.find((event) => event.type === 'spawn' && event.lane === lane);
    const exit = lifecycle.find((event) => event.type === 'exit' && event.lane === lane);
    return { lane, startMs: spawn?.atMs ?? endMs, endMs: Math.min(endMs, exit?.atMs ?? endMs) };
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`error: ${parsed.message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  try {
    process.exitCode = await run(parsed.options);
  } catch (error) {
    process.stderr.write(`demo could not run: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exitCode = EXIT_SETUP_FAILED;
  }
}

await main();
