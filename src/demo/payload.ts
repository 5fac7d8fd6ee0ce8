import type { FunctionUrlEvent } from './ipc.js';

/** What the endpoint knows about one HTTP request. */
export interface HttpRequestInfo {
  readonly method: string;
  /** Path and query as received, e.g. `/webhook?x=1`. */
  readonly url: string;
  /** Header names and values as Node gives them (`IncomingMessage.headers`). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  readonly sourceIp: string;
  readonly host: string;
  /** Unique id of this request. */
  readonly requestId: string;
  /** When it arrived, epoch ms. */
  readonly atMs: number;
}

/** Account id Function URLs report for unauthenticated (`NONE`) calls. */
const ANONYMOUS_ACCOUNT = 'anonymous';

/**
 * Turns an HTTP request into a Lambda Function URL event (payload format 2.0): lower-case header
 * names, repeated headers joined with commas, cookies left in the `cookie` header, plain-text body.
 *
 * @example
 * ```ts
 * const event = toFunctionUrlEvent({ method: 'POST', url: '/webhook', headers: {}, body: '{}', sourceIp: '127.0.0.1', host: '127.0.0.1:3000', requestId: 'r1', atMs: Date.now() });
 * ```
 */
export function toFunctionUrlEvent(request: HttpRequestInfo): FunctionUrlEvent {
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const domainName = request.host;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: ANONYMOUS_ACCOUNT,
      apiId: 'baton-demo',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: request.method.toUpperCase(),
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId,
      routeKey: '$default',
      stage: '$default',
      time: new Date(request.atMs).toISOString(),
      timeEpoch: request.atMs,
    },
    ...(request.body.length > 0 ? { body: request.body } : {}),
    isBase64Encoded: false,
  };
}
