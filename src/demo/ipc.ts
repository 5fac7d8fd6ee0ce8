/**
 * Messages between the Lambda-like pool (parent) and one worker process, over Node's IPC channel.
 * Workers never send a token: events carry fingerprints only.
 */

/** A Lambda Function URL (payload format 2.0) event, as far as the demo fills it. */
export interface FunctionUrlEvent {
  readonly version: '2.0';
  readonly routeKey: '$default';
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly requestContext: {
    readonly accountId: string;
    readonly apiId: string;
    readonly domainName: string;
    readonly domainPrefix: string;
    readonly http: {
      readonly method: string;
      readonly path: string;
      readonly protocol: string;
      readonly sourceIp: string;
      readonly userAgent: string;
    };
    readonly requestId: string;
    readonly routeKey: '$default';
    readonly stage: '$default';
    readonly time: string;
    readonly timeEpoch: number;
  };
  readonly body?: string;
  readonly isBase64Encoded: boolean;
}

/** What a Function URL handler returns (the structured form). */
export interface HandlerResult {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Parent → worker. */
export type ParentMessage =
  | { readonly type: 'invoke'; readonly id: number; readonly event: FunctionUrlEvent; readonly deadlineAtMs: number; readonly requestId: string }
  | { readonly type: 'shutdown' };

/** Worker → parent. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly initMs: number }
  | { readonly type: 'init-failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly result: HandlerResult }
  | { readonly type: 'invoke-failed'; readonly id: number; readonly message: string }
  | { readonly type: 'event'; readonly event: unknown };

/**
 * Narrows an unknown IPC payload to a {@link WorkerMessage} (shape check only).
 *
 * @example
 * ```ts
 * child.on('message', (raw) => { if (isWorkerMessage(raw)) handle(raw); });
 * ```
 */
export function isWorkerMessage(raw: unknown): raw is WorkerMessage {
  if (typeof raw !== 'object' || raw === null) return false;
  const type = (raw as { type?: unknown }).type;
  return type === 'ready' || type === 'init-failed' || type === 'result' || type === 'invoke-failed' || type === 'event';
}

/**
 * Narrows an unknown IPC payload to a {@link ParentMessage} (shape check only).
 *
 * @example
 * ```ts
 * process.on('message', (raw) => { if (isParentMessage(raw)) handle(raw); });
 * ```
 */
export function isParentMessage(raw: unknown): raw is ParentMessage {
  if (typeof raw !== 'object' || raw === null) return false;
  const type = (raw as { type?: unknown }).type;
  return type === 'invoke' || type === 'shutdown';
}
