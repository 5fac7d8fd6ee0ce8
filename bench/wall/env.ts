/**
 * Builds the {@link BenchEnv} of one instance inside a wall-clock worker process: the real clock
 * (plus this instance's skew), real timers, a seeded random source, the fake chat API over HTTP,
 * and counted stores on the real DynamoDB endpoint.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createRng } from '../../src/demo/rng.js';
import { DynamoDBTokenStore } from '../../src/runtime/dynamodb-store.js';
import { systemScheduler } from '../../src/runtime/scheduler.js';
import type { BenchEnv, ChatAnswer } from '../core/strategy.js';
import { countedTokenStore } from './counted-token-store.js';
import type { WorkerAssignment } from './ipc.js';
import { DynamoDBItemStore } from './item-store.js';

/** Longest one chat API call may take before the bench gives up on it, ms (the slow issuer takes seconds, not this). */
export const CHAT_CALL_MS_MAX = 30_000;
/** Room every bench message goes to. */
export const BENCH_ROOM = 'bench';

/** What the env reports to the parent. */
export interface EnvReporter {
  ddb(kind: 'read' | 'write'): void;
  auth(phase: 'start' | 'end'): void;
}

/**
 * The env of one instance.
 *
 * @example
 * ```ts
 * const env = createWallEnv({ assignment, client, secret, report });
 * const instance = strategy.create(env);
 * ```
 */
export function createWallEnv(options: {
  readonly assignment: WorkerAssignment;
  readonly client: DynamoDBClient;
  /** The chat bot's secret for `POST /auth` (from the worker's environment; never printed). */
  readonly secret: string;
  readonly report: EnvReporter;
}): BenchEnv {
  const { assignment, client, secret, report } = options;
  const rng = createRng(assignment.seed);
  const skewMs = assignment.clockSkewMs;
  const chatUrl = assignment.chatUrl;
  const tokenStore = countedTokenStore(
    new DynamoDBTokenStore({ client, tableName: assignment.dynamo.tokenTable, key: assignment.namespace }),
    (kind) => report.ddb(kind),
  );
  const itemStore = new DynamoDBItemStore({
    client,
    tableName: assignment.dynamo.itemTable,
    namespace: assignment.namespace,
    count: (kind) => report.ddb(kind),
  });
  return {
    instanceId: assignment.instanceId,
    now: () => Date.now() + skewMs,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
    random: () => rng.next(),
    scheduler: systemScheduler,
    async issue(signal?: AbortSignal): Promise<string> {
      report.auth('start');
      try {
        const response = await fetch(`${chatUrl}/auth`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ secret }),
          signal: callSignal(signal),
        });
        const body = (await response.json()) as { token?: unknown };
        if (response.status !== 200 || typeof body.token !== 'string') throw new Error(`POST /auth answered ${response.status}`);
        return body.token;
      } finally {
        report.auth('end');
      }
    },
    async post(token: string, messageId: string): Promise<ChatAnswer> {
      const response = await fetch(`${chatUrl}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ messageId, room: BENCH_ROOM, text: 'bench' }),
        signal: callSignal(undefined),
      });
      // Drain the body so the keep-alive connection is reused.
      await response.arrayBuffer();
      if (response.status === 200) return 'delivered';
      if (response.status === 401) return 'rejected';
      throw new Error(`POST /messages answered ${response.status}`);
    },
    tokenStore,
    itemStore,
    wall: {
      endpoint: assignment.dynamo.endpoint,
      region: assignment.dynamo.region,
      lockTable: assignment.dynamo.lockTable,
      lockPartitionKey: assignment.dynamo.lockPartitionKey,
      namespace: assignment.namespace,
      countDdb: (kind) => report.ddb(kind),
    },
  };
}

/** The caller's signal (if any) combined with the bench's own bound on a call. */
function callSignal(signal: AbortSignal | undefined): AbortSignal {
  const bound = AbortSignal.timeout(CHAT_CALL_MS_MAX);
  return signal === undefined ? bound : AbortSignal.any([signal, bound]);
}
