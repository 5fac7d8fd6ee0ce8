/**
 * Messages between the wall-clock bench (parent) and its worker processes. One worker hosts at
 * most one strategy instance at a time and is reused across runs, so that a full bench does not
 * pay a process start per configuration.
 */
import type { ScenarioName } from '../core/result.js';
import type { StrategyName } from '../core/strategy.js';

/** Everything a worker needs to host one strategy instance for one run. */
export interface WorkerAssignment {
  readonly strategy: StrategyName;
  /** The scenario, which configures the strategy (Baton's lease in `slow-issuer`). */
  readonly scenario: ScenarioName;
  /** Unique in the whole bench; prefixes this instance's message ids. */
  readonly instanceId: string;
  /** Unique per run: item keys, the token item key and lock ids live under it. */
  readonly namespace: string;
  /** Seed of this instance's random source (derived from the bench seed and the instance id). */
  readonly seed: number;
  /** Offset of this instance's clock from the real one, ms (the skew scenario). */
  readonly clockSkewMs: number;
  /** Base URL of this run's fake chat server. */
  readonly chatUrl: string;
  /** Mean pause between two messages of this instance, ms (jittered ±50 %). */
  readonly messageGapMs: number;
  readonly dynamo: {
    readonly endpoint: string;
    readonly region: string;
    readonly tokenTable: string;
    readonly itemTable: string;
    readonly lockTable: string;
    readonly lockPartitionKey: string;
  };
}

/** Parent → worker. */
export type ToWorker =
  | { readonly type: 'start'; readonly assignment: WorkerAssignment }
  | { readonly type: 'stop' };

/** Worker → parent. `instanceId` tags everything sent while an instance is hosted. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'started'; readonly instanceId: string }
  | { readonly type: 'start-failed'; readonly message: string }
  | { readonly type: 'ddb'; readonly instanceId: string; readonly kind: 'read' | 'write' }
  | { readonly type: 'auth'; readonly instanceId: string; readonly phase: 'start' | 'end' }
  | { readonly type: 'lost'; readonly instanceId: string; readonly messageId: string; readonly reason: string }
  | { readonly type: 'stopped'; readonly instanceId: string; readonly sent: number; readonly lost: number; readonly clean: boolean };

const FROM_WORKER_TYPES: ReadonlySet<string> = new Set(['ready', 'started', 'start-failed', 'ddb', 'auth', 'lost', 'stopped']);
const TO_WORKER_TYPES: ReadonlySet<string> = new Set(['start', 'stop']);

/**
 * Narrows an IPC payload from a worker (shape of `type` only: both ends are this code).
 *
 * @example
 * ```ts
 * child.on('message', (raw) => { if (isFromWorker(raw)) handle(raw); });
 * ```
 */
export function isFromWorker(raw: unknown): raw is FromWorker {
  return typeof raw === 'object' && raw !== null && FROM_WORKER_TYPES.has(String((raw as { type?: unknown }).type));
}

/**
 * Narrows an IPC payload from the parent.
 *
 * @example
 * ```ts
 * process.on('message', (raw) => { if (isToWorker(raw)) handle(raw); });
 * ```
 */
export function isToWorker(raw: unknown): raw is ToWorker {
  return typeof raw === 'object' && raw !== null && TO_WORKER_TYPES.has(String((raw as { type?: unknown }).type));
}
