import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/**
 * Starts AWS's official DynamoDB Local (the jar shipped in the npm package
 * `amplify-dynamodb-simulator`, under `emulator/`) with `java`, in memory, on a free port, and
 * stops it again. Used by the store conformance tests and by multi-process tests. (DynamoDB Local
 * has no option to choose its interface: it listens on all of them; the endpoint uses 127.0.0.1.)
 *
 * The server runs with `-sharedDb`: without it, DynamoDB Local keeps one database per access key
 * id and region, so two processes with different (dummy) credentials would not see each other's
 * tables. Any alphanumeric access key id works ({@link DYNAMODB_LOCAL_CREDENTIALS}); DynamoDB Local
 * refuses ids with other characters (e.g. `local-access-key`) as `UnrecognizedClientException`.
 *
 * Nothing outlives the test process: `stop()` ends the server and waits for it; an `exit` hook
 * kills servers nobody stopped; and on POSIX a tiny watchdog shell kills the server when this
 * process dies in a way that runs no hook (SIGKILL, a crash, a worker torn down by a signal).
 */

/**
 * A running DynamoDB Local.
 *
 * @example
 * ```ts
 * const local = await startDynamoDBLocal();
 * const client = new DynamoDBClient({ endpoint: local.endpoint, region: DYNAMODB_LOCAL_REGION, credentials: DYNAMODB_LOCAL_CREDENTIALS });
 * await local.stop();
 * ```
 */
export interface DynamoDBLocal {
  /** e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  readonly port: number;
  /** Process id of the `java` process. */
  readonly pid: number;
  /** From spawning `java` to the first answered ListTables, in milliseconds. */
  readonly startupMs: number;
  /** Ends the server and resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Credentials DynamoDB Local accepts (it checks only that the key id is alphanumeric).
 *
 * @example
 * ```ts
 * new DynamoDBClient({ endpoint, region: DYNAMODB_LOCAL_REGION, credentials: DYNAMODB_LOCAL_CREDENTIALS });
 * ```
 */
export const DYNAMODB_LOCAL_CREDENTIALS = { accessKeyId: 'batonlocal', secretAccessKey: 'batonlocal' } as const;

/**
 * Any region works with `-sharedDb`; this is the one the tests use.
 *
 * @example
 * ```ts
 * new DynamoDBClient({ endpoint, region: DYNAMODB_LOCAL_REGION, credentials: DYNAMODB_LOCAL_CREDENTIALS });
 * ```
 */
export const DYNAMODB_LOCAL_REGION = 'us-east-1';

/** Pause between two readiness checks (ListTables) while DynamoDB Local starts. */
export const DYNAMODB_LOCAL_STARTUP_POLL_INTERVAL_MS = 100;
/** Readiness checks before giving up: about 30 s, for a cold JVM on a slow CI runner (it usually answers in 3 to 5 s). */
export const DYNAMODB_LOCAL_STARTUP_POLLS_MAX = 300;
/** One readiness request may take this long (the server accepts connections before it answers). */
const READINESS_REQUEST_TIMEOUT_MS = 2_000;
/** A port taken between choosing it and Java binding it: try another this many times in all. */
const PORT_ATTEMPTS_MAX = 3;
/** `stop()` waits this long after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** Output lines kept for error messages. */
const OUTPUT_TAIL_LINES_MAX = 20;
const OUTPUT_LINE_LENGTH_MAX_CHARS = 500;

const JRE_INSTALL_HINT =
  'install a Java runtime (17 works), e.g. `apt-get install -y openjdk-17-jre-headless` on Debian/Ubuntu ' +
  'or `brew install openjdk@17` on macOS, and make sure `java` is on PATH';
/** What DynamoDB Local prints, without exiting, when its port is taken. */
const PORT_TAKEN_PATTERN = /BindException|Address already in use|Failed to bind/;

/**
 * Starts DynamoDB Local and resolves once it answers ListTables.
 *
 * @throws Error when `java` is missing (saying how to install a JRE), when the jar is missing, or
 * when the server does not answer in time (with its last output lines).
 * @example
 * ```ts
 * const local = await startDynamoDBLocal();
 * try { ... } finally { await local.stop(); }
 * ```
 */
export async function startDynamoDBLocal(): Promise<DynamoDBLocal> {
  const emulator = emulatorDirectory();
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS_MAX; attempt += 1) {
    try {
      return await startOnce(emulator, await freePort());
    } catch (error) {
      if (!(error instanceof PortTakenError)) throw error;
      lastError = error;
    }
  }
  throw new Error(`DynamoDB Local could not bind a free port in ${PORT_ATTEMPTS_MAX} attempts`, { cause: lastError });
}

class PortTakenError extends Error {}

function emulatorDirectory(): string {
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve('amplify-dynamodb-simulator/package.json');
  } catch (error) {
    throw new Error('DynamoDB Local comes from the devDependency amplify-dynamodb-simulator, which is not installed: run `npm ci`', { cause: error });
  }
  const emulator = join(dirname(packageJson), 'emulator');
  if (!existsSync(join(emulator, 'DynamoDBLocal.jar'))) {
    throw new Error(`amplify-dynamodb-simulator is installed but ${join(emulator, 'DynamoDBLocal.jar')} is missing: reinstall it with \`npm ci\``);
  }
  return emulator;
}

/** A port that was free on 127.0.0.1 a moment ago (Java binds it next; a race is retried). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return port;
}

async function startOnce(emulator: string, port: number): Promise<DynamoDBLocal> {
  // DynamoDB Local writes dynamodb-local-metadata.json into its working directory, even in memory.
  const workDirectory = mkdtempSync(join(tmpdir(), 'baton-dynamodb-local-'));
  const startedAtMs = performance.now();
  const child = spawn(
    'java',
    [
      // C1 only: DynamoDB Local answers sooner; test runs are too short for C2 to pay off.
      '-XX:TieredStopAtLevel=1',
      `-Djava.library.path=${join(emulator, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(emulator, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: workDirectory, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const server = new RunningServer(child, workDirectory);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await server.waitUntilAnswering(endpoint);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const startupMs = Math.round(performance.now() - startedAtMs);
  return { endpoint, port, pid: child.pid as number, startupMs, stop: () => server.stop() };
}

/** Servers not yet stopped, killed by the exit hook. */
const running = new Set<RunningServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a signal is all there is time for.
  process.on('exit', () => {
    for (const server of running) server.killNow();
  });
}

class RunningServer {
  readonly #child: ChildProcess;
  readonly #workDirectory: string;
  readonly #watchdog: ChildProcess | undefined;
  readonly #output: string[] = [];
  readonly #exited: Promise<void>;
  #exitDescription: string | undefined;
  #spawnError: NodeJS.ErrnoException | undefined;
  #stopping: Promise<void> | undefined;

  constructor(child: ChildProcess, workDirectory: string) {
    this.#child = child;
    this.#workDirectory = workDirectory;
    for (const [stream, label] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      // Always drained: a full pipe would block the server.
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.#remember(label, line);
      });
      stream?.on('end', () => {
        if (partial.length > 0) this.#remember(label, partial);
      });
    }
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitDescription = signal === null ? `exit code ${code}` : `signal ${signal}`;
        this.#afterExit();
        resolve();
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        // Spawning failed (no 'exit' follows); errors after a successful spawn come with 'exit'.
        if (child.pid !== undefined) return;
        this.#spawnError = error;
        this.#exitDescription = `could not start (${error.code ?? error.message})`;
        this.#afterExit();
        resolve();
      });
    });
    this.#watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid, workDirectory);
    running.add(this);
    installExitHook();
    // Neither keeps the test process alive: a forgotten stop() is handled by the exit hook.
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  async waitUntilAnswering(endpoint: string): Promise<void> {
    const client = new DynamoDBClient({
      endpoint,
      region: DYNAMODB_LOCAL_REGION,
      credentials: DYNAMODB_LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    let lastFailure = 'no answer yet';
    try {
      for (let poll = 1; poll <= DYNAMODB_LOCAL_STARTUP_POLLS_MAX; poll += 1) {
        if (this.#output.some((line) => PORT_TAKEN_PATTERN.test(line))) throw new PortTakenError(`port of ${endpoint} was taken: ${this.#tail()}`);
        if (this.#exitDescription !== undefined) throw this.#startFailure(`the java process ended (${this.#exitDescription}) before answering`);
        try {
          // An abort signal, not requestTimeout: depending on the SDK version, that one only logs a warning.
          await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(READINESS_REQUEST_TIMEOUT_MS) });
          return;
        } catch (error) {
          lastFailure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
        await Promise.race([sleep(DYNAMODB_LOCAL_STARTUP_POLL_INTERVAL_MS), this.#exited]);
      }
      throw this.#startFailure(
        `it did not answer ListTables at ${endpoint} after ${DYNAMODB_LOCAL_STARTUP_POLLS_MAX} tries ${DYNAMODB_LOCAL_STARTUP_POLL_INTERVAL_MS} ms apart ` +
          `(last failure: ${lastFailure})`,
      );
    } finally {
      client.destroy();
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#exitDescription === undefined) {
        this.#child.kill('SIGTERM');
        // A referenced timer keeps this process alive until the server is gone.
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<'grace-over'>((resolve) => (timer = setTimeout(() => resolve('grace-over'), STOP_GRACE_MS)));
        const outcome = await Promise.race([this.#exited.then(() => 'exited' as const), graceOver]);
        clearTimeout(timer);
        if (outcome === 'grace-over') {
          this.#child.kill('SIGKILL');
          const keepAlive = setInterval(() => undefined, STOP_GRACE_MS);
          await this.#exited;
          clearInterval(keepAlive);
        }
      }
      this.#afterExit();
    })();
    return this.#stopping;
  }

  /** Synchronous, for the exit hook. */
  killNow(): void {
    this.#watchdog?.kill('SIGKILL');
    if (this.#exitDescription === undefined) this.#child.kill('SIGKILL');
    rmSync(this.#workDirectory, { recursive: true, force: true });
  }

  #afterExit(): void {
    // The watchdog must not outlive the server: it would later signal a pid that may be reused.
    if (this.#watchdog !== undefined && this.#watchdog.exitCode === null && this.#watchdog.signalCode === null) this.#watchdog.kill('SIGKILL');
    running.delete(this);
    rmSync(this.#workDirectory, { recursive: true, force: true });
  }

  #startFailure(what: string): Error {
    if (this.#spawnError?.code === 'ENOENT') {
      return new Error(`DynamoDB Local needs Java, but \`java\` was not found on PATH: ${JRE_INSTALL_HINT}`, { cause: this.#spawnError });
    }
    const output = this.#output.length > 0 ? `; its last output lines:\n${this.#tail()}` : '; it printed nothing';
    return new Error(`DynamoDB Local did not start: ${what}${output}`, { cause: this.#spawnError });
  }

  #remember(label: string, line: string): void {
    if (line.trim().length === 0) return;
    this.#output.push(`${label}| ${line.slice(0, OUTPUT_LINE_LENGTH_MAX_CHARS)}`);
    if (this.#output.length > OUTPUT_TAIL_LINES_MAX) this.#output.shift();
  }

  #tail(): string {
    return this.#output.join('\n');
  }
}

/**
 * A shell that reads its stdin, a pipe from this process, until end of file, then kills `pid` and
 * removes its working directory.
 * The pipe closes when this process dies however it dies, so the server dies with it. Not on
 * Windows (no `sh`): there, the exit hook and `stop()` are all there is.
 */
function startWatchdog(pid: number, workDirectory: string): ChildProcess | undefined {
  if (process.platform === 'win32') return undefined;
  const script = 'while read -r line; do :; done; kill -KILL "$1" 2>/dev/null; rm -rf "$2"';
  const watchdog = spawn('sh', ['-c', script, 'baton-dynamodb-local-watchdog', String(pid), workDirectory], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.on('error', () => undefined); // no sh: the exit hook still covers normal exits
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return watchdog;
}
