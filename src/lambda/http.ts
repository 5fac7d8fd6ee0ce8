/**
 * Minimal local types for a Lambda Function URL / API Gateway HTTP API payload v2 request and
 * response (the bot does not depend on `@types/aws-lambda`), plus helpers to build responses.
 */

/** Smallest `Retry-After` ever sent, in seconds: `0` would invite an immediate hammering retry. */
export const RETRY_AFTER_S_MIN = 1;

/**
 * The fields of a payload v2 event the bot reads.
 *
 * @example
 * ```ts
 * const event: HttpApiEventV2 = {
 *   version: '2.0', rawPath: '/', requestContext: { http: { method: 'POST', path: '/' } },
 *   headers: { 'content-type': 'application/json' }, body: '{}', isBase64Encoded: false,
 * };
 * ```
 */
export interface HttpApiEventV2 {
  /** Payload format version, `'2.0'`. */
  readonly version?: string;
  /** Request path. */
  readonly rawPath?: string;
  /** Request metadata. */
  readonly requestContext: {
    /** API Gateway's id of the request. */
    readonly requestId?: string;
    /** The HTTP part. */
    readonly http: {
      /** HTTP method, upper case. */
      readonly method: string;
      /** Request path. */
      readonly path?: string;
    };
  };
  /** Request headers, lower-cased names. */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  /** The body, base64 when `isBase64Encoded`. */
  readonly body?: string;
  /** Whether `body` is base64. */
  readonly isBase64Encoded?: boolean;
}

/**
 * A payload v2 structured response.
 *
 * @example
 * ```ts
 * const result: HttpApiResultV2 = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
 * ```
 */
export interface HttpApiResultV2 {
  /** HTTP status. */
  readonly statusCode: number;
  /** Response headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text. */
  readonly body: string;
}

/**
 * The part of the Lambda context object the bot reads.
 *
 * @example
 * ```ts
 * const context: LambdaContextLike = { getRemainingTimeInMillis: () => 3_000, awsRequestId: 'req-1' };
 * ```
 */
export interface LambdaContextLike {
  /** Milliseconds left before Lambda kills this invocation. */
  getRemainingTimeInMillis(): number;
  /** Lambda's id of this invocation. */
  readonly awsRequestId?: string;
}

/**
 * `Retry-After` in whole seconds for a wait of `waitMs`, rounded up, at least {@link RETRY_AFTER_S_MIN}.
 *
 * @example
 * ```ts
 * retryAfterSeconds(1_200); // 2
 * ```
 */
export function retryAfterSeconds(waitMs: number): number {
  if (!Number.isFinite(waitMs)) return RETRY_AFTER_S_MIN;
  return Math.max(RETRY_AFTER_S_MIN, Math.ceil(waitMs / 1000));
}

/**
 * A JSON response. `body` is already serialized so the caller can redact it first.
 *
 * @example
 * ```ts
 * jsonResult(503, JSON.stringify({ status: 'not-sent' }), { 'retry-after': '2' });
 * ```
 */
export function jsonResult(statusCode: number, body: string, headers: Readonly<Record<string, string>> = {}): HttpApiResultV2 {
  return {
    statusCode,
    // no-store: an answer describes one delivery attempt and must never be replayed from a cache.
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body,
  };
}
