/**
 * A recording HTTP proxy in front of DynamoDB Local: the worker processes talk to DynamoDB
 * through it, each on its own path (`/w/<lane>/`), so every request is attributed to the process
 * that sent it, independently of what that process reports about itself. It keeps, per call, the
 * operation, the item key, whether a `ConditionExpression` was sent, the answer's status and, for
 * `GetItem` and `UpdateItem`, the item as DynamoDB returned it (`ALL_NEW` after an applied write,
 * `ALL_OLD` with a failed condition). Tokens never stay in memory: they become fingerprints at once.
 *
 * DynamoDB Local does not verify request signatures, so forwarding a request signed for the
 * proxy's host is accepted unchanged.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { fromAttributeMap } from '../../../src/runtime/record-codec.js';
import { fingerprint } from '../../../src/runtime/fingerprint.js';

/** Most calls remembered; a run of these tests makes a few thousand. */
export const RECORDED_CALLS_MAX = 100_000;
/** Largest request body forwarded (Baton's requests are a few KiB). */
const REQUEST_BYTES_MAX = 1024 * 1024;

/** An item as recorded: plain values, the token replaced by its fingerprint. */
export type RecordedItem = Readonly<Record<string, unknown>> & { readonly tokenFingerprint?: string };

/**
 * One DynamoDB call that went through the recorder.
 *
 * @example
 * ```ts
 * const writes = recorder.calls().filter((call) => call.operation === 'UpdateItem' && call.outcome === 'applied');
 * ```
 */
export interface RecordedCall {
  /** Order of arrival at the proxy (1-based). */
  readonly seq: number;
  /** The sending worker's lane, from the request path. */
  readonly lane: string;
  /** e.g. `GetItem`, `UpdateItem` (from `X-Amz-Target`). */
  readonly operation: string;
  /** Partition key value of the item, when the request names one (`Key.pk.S`). */
  readonly key: string | undefined;
  /** The request's `ConditionExpression`, if any. */
  readonly conditionExpression: string | undefined;
  /** When the request arrived and when its answer came back, epoch ms (test process clock). */
  readonly arrivedAtMs: number;
  readonly answeredAtMs: number;
  /** HTTP status of DynamoDB's answer; `undefined` when it never answered (socket error). */
  readonly status: number | undefined;
  /** `applied` (200 `UpdateItem`), `condition-failed`, `error` (any other failure), `ok` (other 200s). */
  readonly outcome: 'applied' | 'condition-failed' | 'error' | 'ok';
  /** `__type` of an error answer, e.g. `com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException`. */
  readonly errorType: string | undefined;
  /** `ALL_NEW` of an applied write, `ALL_OLD` of a failed condition, the item of a `GetItem`. */
  readonly item: RecordedItem | undefined;
}

/** What {@link DynamoDBRecorder.holdNext} may match on. */
export interface HoldableRequest {
  readonly lane: string;
  readonly operation: string;
  readonly key: string | undefined;
  /** `UpdateExpression` of an UpdateItem. */
  readonly updateExpression: string | undefined;
}

/** A request held by {@link DynamoDBRecorder.holdNext}. */
export interface HeldRequest {
  /** Resolves when a matching request arrived (and is being held). */
  readonly arrived: Promise<void>;
  /** Forwards the held request (or lets the next match through at once, if none arrived yet). */
  release(): void;
}

interface Hold {
  readonly matches: (request: HoldableRequest) => boolean;
  readonly arrive: () => void;
  readonly released: Promise<void>;
}

/**
 * A running recorder.
 *
 * @example
 * ```ts
 * const recorder = await startDynamoDBRecorder(local.endpoint);
 * env.DYNAMODB_ENDPOINT = recorder.endpointFor('i01');
 * await recorder.close();
 * ```
 */
export interface DynamoDBRecorder {
  /** The endpoint a worker of `lane` must use. */
  endpointFor(lane: string): string;
  /** Every call so far, in arrival order (a copy). */
  calls(): readonly RecordedCall[];
  /**
   * Holds the next request that `matches` at the proxy (not forwarded to DynamoDB) until
   * `release()`: the request has left its sender but not yet reached DynamoDB.
   */
  holdNext(matches: (request: HoldableRequest) => boolean): HeldRequest;
  /** Stops listening and ends open connections (keep-alive ones included). */
  close(): Promise<void>;
}

/** Converts a DynamoDB attribute map to plain values, the token replaced by its fingerprint. */
export function recordedItem(map: Readonly<Record<string, AttributeValue>>): RecordedItem {
  const plain = fromAttributeMap(map);
  const token = plain['token'];
  delete plain['token'];
  return typeof token === 'string' ? { ...plain, tokenFingerprint: fingerprint(token) } : plain;
}

/**
 * Starts the recorder on a free port of 127.0.0.1, forwarding to `targetEndpoint`.
 *
 * @example
 * ```ts
 * const recorder = await startDynamoDBRecorder('http://127.0.0.1:8000');
 * ```
 */
export async function startDynamoDBRecorder(targetEndpoint: string): Promise<DynamoDBRecorder> {
  const target = new URL(targetEndpoint);
  const recorded: RecordedCall[] = [];
  const holds: Hold[] = [];
  /** Holds not released yet, arrived or not: `close()` releases them all. */
  const unreleased = new Set<() => void>();
  let nextSeq = 1;

  const server: Server = createServer((request, response) => {
    void forward(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(502).end();
      else response.destroy();
    });
  });

  async function forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const seq = nextSeq++;
    const arrivedAtMs = Date.now();
    const lane = /^\/w\/([^/]+)/.exec(request.url ?? '')?.[1] ?? 'unknown';
    const body = await readAll(request, REQUEST_BYTES_MAX);
    const operation = String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    const parsed = parseJson(body.toString('utf8')) as { Key?: Record<string, AttributeValue>; ConditionExpression?: unknown; UpdateExpression?: unknown } | undefined;
    const keyValue = parsed?.Key === undefined ? undefined : Object.values(parsed.Key)[0]?.S;
    const conditionExpression = typeof parsed?.ConditionExpression === 'string' ? parsed.ConditionExpression : undefined;
    const updateExpression = typeof parsed?.UpdateExpression === 'string' ? parsed.UpdateExpression : undefined;
    const holdIndex = holds.findIndex((hold) => hold.matches({ lane, operation, key: keyValue, updateExpression }));
    const hold = holdIndex < 0 ? undefined : holds.splice(holdIndex, 1)[0];
    if (hold !== undefined) {
      hold.arrive();
      await hold.released;
    }

    const remember = (status: number | undefined, answer: Buffer | undefined): void => {
      const json = answer === undefined ? undefined : (parseJson(answer.toString('utf8')) as Record<string, unknown> | undefined);
      const errorType = typeof json?.['__type'] === 'string' ? json['__type'] : undefined;
      let outcome: RecordedCall['outcome'];
      if (status === 200) outcome = operation === 'UpdateItem' ? 'applied' : 'ok';
      else outcome = errorType?.endsWith('ConditionalCheckFailedException') === true ? 'condition-failed' : 'error';
      const map = (json?.['Attributes'] ?? json?.['Item']) as Record<string, AttributeValue> | undefined;
      if (recorded.length >= RECORDED_CALLS_MAX) return;
      recorded.push({
        seq,
        lane,
        operation,
        key: keyValue,
        conditionExpression,
        arrivedAtMs,
        answeredAtMs: Date.now(),
        status,
        outcome,
        errorType,
        item: map === undefined ? undefined : recordedItem(map),
      });
    };

    await new Promise<void>((resolve) => {
      const headers = { ...request.headers, host: target.host, 'content-length': String(body.length) };
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: request.method, path: '/', headers }, (answer) => {
        void readAll(answer, Number.POSITIVE_INFINITY).then(
          (answerBody) => {
            remember(answer.statusCode, answerBody);
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            response.end(answerBody);
            resolve();
          },
          () => {
            remember(undefined, undefined);
            response.destroy();
            resolve();
          },
        );
      });
      upstream.on('error', () => {
        remember(undefined, undefined);
        response.destroy();
        resolve();
      });
      upstream.end(body);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    endpointFor: (lane) => `http://127.0.0.1:${port}/w/${encodeURIComponent(lane)}`,
    calls: () => [...recorded],
    holdNext(matches) {
      let arrive = (): void => undefined;
      let release = (): void => undefined;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      const released = new Promise<void>((resolve) => (release = resolve));
      holds.push({ matches, arrive, released });
      const releaseOnce = (): void => {
        const index = holds.findIndex((hold) => hold.released === released);
        if (index >= 0) holds.splice(index, 1);
        unreleased.delete(releaseOnce);
        release();
      };
      unreleased.add(releaseOnce);
      return { arrived, release: releaseOnce };
    },
    close() {
      for (const release of [...unreleased]) release();
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function readAll(stream: NodeJS.ReadableStream, bytesMax: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > bytesMax) {
        reject(new Error(`body larger than ${bytesMax} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
