import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionUrlEvent, HandlerResult } from './ipc.js';
import { toFunctionUrlEvent } from './payload.js';
import type { InvokeOutcome } from './pool.js';

/** Largest webhook body accepted, in bytes (Lambda's own limit is 6 MB; webhooks are small). */
export const REQUEST_BODY_BYTES_MAX = 64 * 1024;
/** Seconds a throttled caller is told to wait. */
export const THROTTLE_RETRY_AFTER_S = 1;

/** Options of {@link startFunctionUrlEndpoint}. */
export interface EndpointOptions {
  /** Runs one invocation (the pool's `invoke`). */
  readonly invoke: (event: FunctionUrlEvent) => Promise<InvokeOutcome>;
  /** Clock, epoch ms. */
  readonly now?: () => number;
}

/** A running endpoint. */
export interface FunctionUrlEndpoint {
  /** Base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Responses by status code so far. */
  statusCounts(): Readonly<Record<number, number>>;
  /** Stops listening and closes idle connections. */
  close(): Promise<void>;
}

/**
 * A local stand-in for a Lambda Function URL: every HTTP request on 127.0.0.1 becomes a
 * payload-2.0 event, runs on the pool, and the handler's result becomes the HTTP response.
 * Pool failures map to what a Function URL answers: 429 when throttled, 502 when the function
 * crashed, 504 when it timed out.
 *
 * @example
 * ```ts
 * const endpoint = await startFunctionUrlEndpoint({ invoke: (event) => pool.invoke(event) });
 * await fetch(`${endpoint.url}/webhook`, { method: 'POST', body });
 * ```
 */
export async function startFunctionUrlEndpoint(options: EndpointOptions): Promise<FunctionUrlEndpoint> {
  const now = options.now ?? Date.now;
  const counts: Record<number, number> = {};
  let nextRequest = 1;
  const server: Server = createServer((request, response) => {
    void serve(request, response).catch((error: unknown) => {
      write(response, 500, { 'content-type': 'application/json' }, JSON.stringify({ message: `endpoint error: ${String(error)}` }));
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 120_000;

  const write = (response: ServerResponse, statusCode: number, headers: Readonly<Record<string, string>>, body: string): void => {
    counts[statusCode] = (counts[statusCode] ?? 0) + 1;
    if (response.headersSent) return;
    response.writeHead(statusCode, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
    response.end(body);
  };

  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await readBody(request);
    if (body === undefined) {
      write(response, 413, { 'content-type': 'application/json' }, JSON.stringify({ message: `body larger than ${REQUEST_BODY_BYTES_MAX} bytes` }));
      return;
    }
    const event = toFunctionUrlEvent({
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      headers: request.headers,
      body,
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      host: request.headers.host ?? '127.0.0.1',
      requestId: `fu-${nextRequest++}`,
      atMs: now(),
    });
    const outcome = await options.invoke(event);
    const mapped = toHttp(outcome);
    write(response, mapped.statusCode, mapped.headers ?? {}, mapped.body ?? '');
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    statusCounts: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * What a Function URL answers for a pool outcome.
 *
 * @example
 * ```ts
 * toHttp({ kind: 'throttled', reason: 'queue-full' }).statusCode; // 429
 * ```
 */
export function toHttp(outcome: InvokeOutcome): HandlerResult {
  const json = { 'content-type': 'application/json' };
  switch (outcome.kind) {
    case 'ok':
      return outcome.result;
    case 'throttled':
      return { statusCode: 429, headers: { ...json, 'retry-after': String(THROTTLE_RETRY_AFTER_S) }, body: JSON.stringify({ message: 'Rate Exceeded.', reason: outcome.reason }) };
    case 'timeout':
      return { statusCode: 504, headers: json, body: JSON.stringify({ message: 'Task timed out', lane: outcome.lane }) };
    case 'crashed':
    case 'start-failed':
    case 'handler-error':
      return { statusCode: 502, headers: json, body: JSON.stringify({ message: 'Internal Server Error', kind: outcome.kind, lane: outcome.lane }) };
    case 'closed':
      return { statusCode: 503, headers: { ...json, 'retry-after': String(THROTTLE_RETRY_AFTER_S) }, body: JSON.stringify({ message: 'Service Unavailable' }) };
  }
}

/** Reads the body as UTF-8; `undefined` when it exceeds {@link REQUEST_BODY_BYTES_MAX}. */
async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > REQUEST_BODY_BYTES_MAX) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
