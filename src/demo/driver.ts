import type { PlannedMessage } from './plan.js';
import type { Rng } from './rng.js';
import { Semaphore } from './semaphore.js';
import { sleep } from './sleep.js';

/** Limits of webhook delivery, like a real chat service's redelivery policy. */
export interface DeliveryPolicy {
  /** Most webhooks in flight at once. */
  readonly concurrencyMax: number;
  /** Most delivery attempts per message (first try included). */
  readonly attemptsMax: number;
  /** An attempt without an answer after this counts as failed (timeout). */
  readonly attemptTimeoutMs: number;
  /** First back-off; doubles per attempt. */
  readonly backoffBaseMs: number;
  /** Longest back-off. */
  readonly backoffMaxMs: number;
  /** Longest `Retry-After` honoured. */
  readonly retryAfterMsMax: number;
}

/** Default redelivery policy. */
export const DEFAULT_DELIVERY_POLICY = {
  concurrencyMax: 64,
  attemptsMax: 8,
  attemptTimeoutMs: 25_000,
  backoffBaseMs: 250,
  backoffMaxMs: 4_000,
  retryAfterMsMax: 5_000,
} as const satisfies DeliveryPolicy;

/** The result of one attempt: an HTTP status, or why there was none (`aborted`: the run was stopped). */
export type AttemptResult = number | 'timeout' | 'network' | 'aborted';

/** What happened to one message. */
export interface DeliveryRecord {
  readonly messageId: string;
  /** `delivered`: answered 200 `sent`; `failed`: every attempt failed; `refused`: a 4xx that redelivery cannot fix. */
  readonly outcome: 'delivered' | 'failed' | 'refused';
  readonly attempts: number;
  readonly results: readonly AttemptResult[];
  /** The chat API said it had seen this message before (a redelivery of an already sent one). */
  readonly duplicate: boolean;
  /** Attempts answered 503 `not-sent`. */
  readonly notSent: number;
  readonly firstAttemptAtMs: number;
  readonly doneAtMs: number;
}

/** Live counters for the progress line. */
export interface DriverProgress {
  readonly started: number;
  readonly delivered: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly retries: number;
}

/** Options of {@link deliverAll}. */
export interface DriverOptions {
  /** Where webhooks go (the Function URL endpoint plus path). */
  readonly url: string;
  readonly messages: readonly PlannedMessage[];
  /** Epoch ms of traffic start; message `offsetMs` counts from here. */
  readonly startAtMs: number;
  readonly policy: DeliveryPolicy;
  /** Seeded random for back-off jitter. */
  readonly rng: Rng;
  /** Aborts every wait and attempt (run time limit, Ctrl-C). */
  readonly signal: AbortSignal;
  readonly now?: () => number;
  /** Called after each message finishes. */
  readonly onRecord?: (record: DeliveryRecord) => void;
}

/** A running delivery. */
export interface Driver {
  /** Resolves with one record per message, in plan order, once all are done. */
  readonly done: Promise<DeliveryRecord[]>;
  progress(): DriverProgress;
}

/**
 * Delivers every planned webhook at its planned time (bounded concurrency) and redelivers on
 * 5xx, 429, timeouts and network errors with exponential back-off and seeded jitter, honouring
 * `Retry-After`, up to `attemptsMax` attempts. A message answered 503 `not-sent` is thus
 * delivered later; it is `failed` only when every attempt failed.
 *
 * @example
 * ```ts
 * const driver = deliverAll({ url: `${endpoint.url}/webhook`, messages, startAtMs: Date.now(), policy: DEFAULT_DELIVERY_POLICY, rng, signal });
 * const records = await driver.done;
 * ```
 */
export function deliverAll(options: DriverOptions): Driver {
  const now = options.now ?? Date.now;
  const gate = new Semaphore(options.policy.concurrencyMax);
  const counters = { started: 0, delivered: 0, failed: 0, inFlight: 0, retries: 0 };

  const deliverOne = async (message: PlannedMessage): Promise<DeliveryRecord> => {
    const results: AttemptResult[] = [];
    let notSent = 0;
    let firstAttemptAtMs = 0;
    for (let attempt = 1; attempt <= options.policy.attemptsMax; attempt += 1) {
      await gate.acquire();
      counters.inFlight += 1;
      if (attempt === 1) counters.started += 1;
      else counters.retries += 1;
      const attemptAtMs = now();
      if (attempt === 1) firstAttemptAtMs = attemptAtMs;
      let answer: Answer;
      try {
        answer = await post(options.url, message, attemptAtMs, options.policy.attemptTimeoutMs, options.signal);
      } finally {
        counters.inFlight -= 1;
        gate.release();
      }
      results.push(answer.result);
      const finish = (outcome: DeliveryRecord['outcome'], duplicate: boolean): DeliveryRecord => ({
        messageId: message.messageId,
        outcome,
        attempts: attempt,
        results,
        duplicate,
        notSent,
        firstAttemptAtMs,
        doneAtMs: now(),
      });
      if (answer.result === 200 && answer.sent) return finish('delivered', answer.duplicate);
      if (answer.notSent) notSent += 1;
      if (typeof answer.result === 'number' && !isRetryable(answer.result)) return finish('refused', false);
      if (options.signal.aborted || attempt === options.policy.attemptsMax) return finish('failed', false);
      const waitMs = Math.max(backoffMs(attempt, options.policy, options.rng), Math.min(answer.retryAfterMs ?? 0, options.policy.retryAfterMsMax));
      if (!(await sleep(waitMs, options.signal))) return finish('failed', false);
    }
    throw new Error('unreachable: the attempt loop always returns');
  };

  const done = (async () => {
    const running: Array<Promise<DeliveryRecord>> = [];
    for (const message of options.messages) {
      const waitMs = options.startAtMs + message.offsetMs - now();
      if (waitMs > 0 && !(await sleep(waitMs, options.signal))) break;
      running.push(
        deliverOne(message).then((record) => {
          if (record.outcome === 'delivered') counters.delivered += 1;
          else counters.failed += 1;
          options.onRecord?.(record);
          return record;
        }),
      );
    }
    const records = await Promise.all(running);
    // Messages never started (run aborted) are failed without attempts.
    for (const message of options.messages.slice(records.length)) {
      counters.failed += 1;
      const record: DeliveryRecord = { messageId: message.messageId, outcome: 'failed', attempts: 0, results: [], duplicate: false, notSent: 0, firstAttemptAtMs: 0, doneAtMs: now() };
      options.onRecord?.(record);
      records.push(record);
    }
    return records;
  })();

  return { done, progress: () => ({ ...counters }) };
}

/** Statuses worth redelivering: throttling and server-side failures. */
export function isRetryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * Back-off before attempt `attempt + 1`: base × 2^(attempt − 1), capped, with ±25% seeded jitter.
 *
 * @example
 * ```ts
 * backoffMs(1, DEFAULT_DELIVERY_POLICY, rng); // 188..312
 * ```
 */
export function backoffMs(attempt: number, policy: DeliveryPolicy, rng: Rng): number {
  const raw = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (attempt - 1));
  return Math.round(raw * (0.75 + rng.next() * 0.5));
}

/**
 * `Retry-After` in ms: delay-seconds or an HTTP date; `undefined` if absent or unreadable.
 *
 * @example
 * ```ts
 * parseRetryAfterMs('2', Date.now()); // 2000
 * ```
 */
export function parseRetryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim().length === 0) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const dateMs = Date.parse(trimmed);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}

interface Answer {
  readonly result: AttemptResult;
  readonly sent: boolean;
  readonly duplicate: boolean;
  readonly notSent: boolean;
  readonly retryAfterMs: number | undefined;
}

async function post(url: string, message: PlannedMessage, sentAtMs: number, timeoutMs: number, runSignal: AbortSignal): Promise<Answer> {
  const body = JSON.stringify({ messageId: message.messageId, room: message.room, user: message.user, text: message.text, sentAtMs });
  const signal = AbortSignal.any([runSignal, AbortSignal.timeout(timeoutMs)]);
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });
    const text = await response.text();
    const parsed = parseJson(text);
    return {
      result: response.status,
      sent: response.status === 200 && parsed?.['status'] === 'sent',
      duplicate: parsed?.['duplicate'] === true,
      notSent: parsed?.['status'] === 'not-sent',
      retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after'), Date.now()),
    };
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    const result: AttemptResult = runSignal.aborted ? 'aborted' : timedOut ? 'timeout' : 'network';
    return { result, sent: false, duplicate: false, notSent: false, retryAfterMs: undefined };
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
