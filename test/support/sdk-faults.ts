/**
 * A fault layer inside a real `DynamoDBClient`'s middleware stack (not a hand mock of the client).
 *
 * The middleware sits at the `deserialize` step with `low` priority: it is the innermost
 * middleware, between the SDK's response deserializer and the HTTP handler. So every fault it
 * injects goes through everything a real fault goes through:
 *
 * - error answers are synthetic HTTP responses (status + `__type` body) that the SDK's own
 *   deserializer turns into its own exception classes (`ProvisionedThroughputExceededException`,
 *   `InternalServerError`, `AccessDeniedException`, …) with `$metadata`;
 * - the SDK's real retry strategy (`retryMiddleware`, `finalizeRequest` step) sees every injected
 *   fault once per wire attempt, classifies it (throttling, transient, client error) and retries
 *   it or gives up according to the client's `maxAttempts`;
 * - `timeout` sends the request to a black-hole socket, so the client's own HTTP handler raises its
 *   real `TimeoutError` after its `requestTimeout` (configure `requestHandler: { requestTimeout,
 *   throwOnRequestTimeout: true }`);
 * - `lost-response` lets the request reach DynamoDB (it is applied), then loses the answer: the SDK
 *   sees a reset connection (or a real timeout) and retries the *same* conditional write — the S7
 *   case.
 *
 * Faults are planned per command (`GetItem`, `UpdateItem`, …) and per wire call of that command
 * (1-based, every SDK attempt counts), optionally only for requests a predicate selects (e.g. the
 * Baton claim). Every wire call is logged.
 *
 * @example
 * ```ts
 * const faults = await installSdkFaults(client);
 * faults.inject({ command: 'GetItem', calls: [1, 2], fault: { kind: 'throttle' } });
 * faults.inject({ command: 'UpdateItem', when: isBatonIntent('claim'), times: 1, fault: { kind: 'lost-response' } });
 * // … run coordinators on new DynamoDBTokenStore({ client, … }) …
 * faults.log; // [{ command: 'GetItem', call: 1, attempt: 1, fault: 'throttle', reached: false }, …]
 * await faults.close();
 * ```
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { AttributeValue, DynamoDBClient, ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import type { DeserializeHandler, DeserializeHandlerArguments, DeserializeHandlerOutput, HandlerExecutionContext, Pluggable } from '@smithy/types';

type Output = DeserializeHandlerOutput<ServiceOutputTypes>;

/** The DynamoDB commands the fault layer can target (the SDK's command name without `Command`). */
export type DynamoCommandName = 'GetItem' | 'UpdateItem' | 'PutItem' | 'DeleteItem' | 'CreateTable' | 'DescribeTable';

/** Baton write intents, as recognised from an `UpdateItem`'s expressions. */
export type InferredIntent = 'claim' | 'take-over' | 'renew' | 'publish' | 'release' | 'record-failure' | 'other';

/** Namespace DynamoDB puts in front of its error names in `__type`. */
const DYNAMODB_ERROR_NAMESPACE = 'com.amazonaws.dynamodb.v20120810';

/**
 * One injected fault.
 *
 * - `throttle`: HTTP 400 `ProvisionedThroughputExceededException` (or `ThrottlingException`);
 *   never reaches DynamoDB; the SDK retries it as throttling.
 * - `server-error`: HTTP 500 `InternalServerError` (or 503 `ServiceUnavailable`); never reaches
 *   DynamoDB; the SDK retries it as transient.
 * - `service-error`: any other error answer, e.g. 400 `AccessDeniedException`; never reaches DynamoDB.
 * - `timeout`: the request goes to a socket that never answers; the client's HTTP handler raises its
 *   real `TimeoutError` after its `requestTimeout`. Never reaches DynamoDB.
 * - `lost-response`: the request reaches DynamoDB and is applied, then its answer is lost, as a reset
 *   connection (`ECONNRESET`, default) or a real `TimeoutError` (`as: 'timeout'`).
 * - `latency`: the request waits `ms` and then goes through normally (a latency spike).
 */
export type SdkFault =
  | { readonly kind: 'throttle'; readonly errorName?: 'ProvisionedThroughputExceededException' | 'ThrottlingException' }
  | { readonly kind: 'server-error'; readonly statusCode?: 500 | 503 }
  | { readonly kind: 'service-error'; readonly statusCode: number; readonly errorName: string; readonly message?: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'lost-response'; readonly as?: 'connection-reset' | 'timeout' }
  | { readonly kind: 'latency'; readonly ms: number };

/** The request a rule's predicate sees. */
export interface WireRequest {
  readonly command: DynamoCommandName | string;
  /** The command input (TableName, Key, expressions, …). */
  readonly input: Readonly<Record<string, unknown>>;
  /** For `UpdateItem`: the Baton intent its expressions stand for. */
  readonly intent: InferredIntent | undefined;
}

/**
 * When to inject a fault.
 *
 * @example
 * ```ts
 * const rule: FaultRule = { command: 'GetItem', calls: 'every', fault: { kind: 'server-error' } };
 * ```
 */
export interface FaultRule {
  /** Which command the rule watches. */
  readonly command: DynamoCommandName;
  /**
   * Only requests this holds for count as matching (e.g. `isBatonIntent('claim')`).
   * @defaultValue every request of `command`
   */
  readonly when?: (request: WireRequest) => boolean;
  /**
   * Which matching wire calls (1-based, counted by this rule, every SDK attempt counts) get the
   * fault, or `'every'` one of them.
   * @defaultValue `'every'` (subject to `times`)
   */
  readonly calls?: readonly number[] | 'every';
  /**
   * Most faults this rule injects.
   * @defaultValue unbounded
   */
  readonly times?: number;
  /** The fault. */
  readonly fault: SdkFault;
}

/** A rule as installed: how often it matched and fired. */
export interface FaultRuleHandle {
  readonly rule: FaultRule;
  /** Matching wire calls seen. */
  readonly matched: number;
  /** Faults injected. */
  readonly fired: number;
  /** Stops the rule. */
  remove(): void;
}

/** One request as it reached the wire (after the SDK's retry and signing middleware). */
export interface WireCall {
  /** Position among all wire calls of this layer, from 1. */
  readonly seq: number;
  readonly command: string;
  /** Position among the wire calls of this command, from 1. */
  readonly call: number;
  /** The SDK's attempt number for this operation (from its `amz-sdk-request` header), from 1. */
  readonly attempt: number | undefined;
  /** For `UpdateItem`: the Baton intent. */
  readonly intent: InferredIntent | undefined;
  /** The injected fault's kind, if any. */
  readonly fault: SdkFault['kind'] | undefined;
  /**
   * Whether the request reached DynamoDB and got an answer there (which a `lost-response` then drops).
   * With status 200 a write was applied; with 400 it may have failed its condition.
   */
  readonly reached: boolean;
  /** HTTP status DynamoDB answered (before a `lost-response` dropped it), if it was reached. */
  readonly status: number | undefined;
}

/** The fault layer of one client. */
export interface SdkFaultLayer {
  /** Adds a rule; rules are tried in order, the first one that fires wins. */
  inject(rule: FaultRule): FaultRuleHandle;
  /** Removes every rule (the log is kept). */
  clear(): void;
  /** Every wire call so far. */
  readonly log: readonly WireCall[];
  /** Wire calls of `command` (all commands when omitted). */
  calls(command?: DynamoCommandName, filter?: (call: WireCall) => boolean): WireCall[];
  /** The plugin, to add the same layer to another client's stack (`client.middlewareStack.use(layer.plugin)`). */
  readonly plugin: Pluggable<ServiceInputTypes, ServiceOutputTypes>;
  /** Closes the black-hole socket used by `timeout` faults. */
  close(): Promise<void>;
}

/** Name of the middleware in the stack. */
export const SDK_FAULT_MIDDLEWARE_NAME = 'batonTestFaultInjection';

/**
 * The Baton intent of an `UpdateItem` input, from the placeholders Baton's store uses.
 *
 * @example
 * ```ts
 * inferIntent({ ExpressionAttributeValues: { ':set_token': { S: 't' } } }); // 'publish'
 * ```
 */
export function inferIntent(input: Readonly<Record<string, unknown>>): InferredIntent {
  const values = (input['ExpressionAttributeValues'] ?? {}) as Record<string, AttributeValue>;
  const condition = String(input['ConditionExpression'] ?? '');
  const has = (placeholder: string): boolean => values[placeholder] !== undefined;
  if (has(':set_token')) return 'publish';
  if (has(':set_leaseId')) {
    if (has(':cond_leaseId') && has(':cond_revision')) return 'take-over';
    if (condition.startsWith('attribute_not_exists(#pk)') || condition.includes('attribute_not_exists(#leaseId)')) return 'claim';
    return 'other';
  }
  if (has(':set_failureCode')) return values[':set_failureCode']?.S === 'ISSUER_REFUSED' ? 'record-failure' : 'release';
  if (has(':set_leaseExpiresAtMs')) return 'renew';
  return 'other';
}

/**
 * A `when` predicate selecting the `UpdateItem`s of one Baton intent.
 *
 * @example
 * ```ts
 * faults.inject({ command: 'UpdateItem', when: isBatonIntent('publish'), times: 1, fault: { kind: 'lost-response' } });
 * ```
 */
export function isBatonIntent(intent: InferredIntent): (request: WireRequest) => boolean {
  return (request) => request.intent === intent;
}

/** A socket server that accepts connections and never answers. */
async function startBlackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function errorResponse(statusCode: number, errorName: string, message: string): Output {
  const body = new TextEncoder().encode(JSON.stringify({ __type: `${DYNAMODB_ERROR_NAMESPACE}#${errorName}`, message }));
  return {
    response: {
      statusCode,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(body.byteLength), 'x-amzn-requestid': `injected-fault-${errorName}` },
      body,
    },
    // Never read: the SDK's deserializer turns the error answer into an exception.
    output: undefined as unknown as ServiceOutputTypes,
  };
}

/** The reset connection Node reports when a peer drops the socket before answering. */
function connectionReset(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/** Drains a response body we are about to drop, so the keep-alive socket is freed. */
function discardBody(response: unknown): void {
  const body = (response as { body?: { resume?: () => void; destroy?: () => void } } | undefined)?.body;
  if (typeof body?.resume === 'function') body.resume();
}

function statusOf(output: Output): number | undefined {
  const status = (output.response as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function attemptOf(request: unknown): number | undefined {
  const header = (request as { headers?: Record<string, string> } | undefined)?.headers?.['amz-sdk-request'];
  const match = header === undefined ? null : /attempt=(\d+)/.exec(header);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Adds the fault layer to `client` (idempotent per client: a second call replaces the first).
 *
 * @example
 * ```ts
 * const client = new DynamoDBClient({ endpoint, region, credentials, maxAttempts: 3 });
 * const faults = await installSdkFaults(client);
 * ```
 */
export async function installSdkFaults(client: DynamoDBClient): Promise<SdkFaultLayer> {
  const blackHole = await startBlackHole();
  const rules: Array<{ rule: FaultRule; matched: number; fired: number; removed: boolean }> = [];
  const log: WireCall[] = [];
  const perCommand = new Map<string, number>();

  const pick = (request: WireRequest): SdkFault | undefined => {
    for (const entry of rules) {
      if (entry.removed || entry.rule.command !== request.command) continue;
      if (entry.rule.when !== undefined && !entry.rule.when(request)) continue;
      entry.matched += 1;
      const calls = entry.rule.calls ?? 'every';
      const selected = calls === 'every' || calls.includes(entry.matched);
      const allowed = entry.rule.times === undefined || entry.fired < entry.rule.times;
      if (selected && allowed) {
        entry.fired += 1;
        return entry.rule.fault;
      }
    }
    return undefined;
  };

  const middleware =
    (next: DeserializeHandler<ServiceInputTypes, ServiceOutputTypes>, context: HandlerExecutionContext) =>
    async (args: DeserializeHandlerArguments<ServiceInputTypes>): Promise<Output> => {
      const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const input = args.input as unknown as Record<string, unknown>;
      const intent = command === 'UpdateItem' ? inferIntent(input) : undefined;
      const call = (perCommand.get(command) ?? 0) + 1;
      perCommand.set(command, call);
      const fault = pick({ command, input, intent });
      const entry = { seq: log.length + 1, command, call, attempt: attemptOf(args.request), intent, fault: fault?.kind, reached: false, status: undefined as number | undefined };
      log.push(entry);
      const toBlackHole = (): Promise<Output> =>
        next({ ...args, request: { ...(args.request as object), hostname: '127.0.0.1', port: blackHole.port } });

      switch (fault?.kind) {
        case undefined: {
          const output = await next(args);
          entry.reached = true;
          entry.status = statusOf(output);
          return output;
        }
        case 'throttle': {
          const name = fault.errorName ?? 'ProvisionedThroughputExceededException';
          return errorResponse(400, name, 'injected fault: the level of configured provisioned throughput for the table was exceeded');
        }
        case 'server-error':
          return fault.statusCode === 503
            ? errorResponse(503, 'ServiceUnavailable', 'injected fault: service unavailable')
            : errorResponse(500, 'InternalServerError', 'injected fault: internal server error');
        case 'service-error':
          return errorResponse(fault.statusCode, fault.errorName, fault.message ?? `injected fault: ${fault.errorName}`);
        case 'timeout':
          return toBlackHole();
        case 'latency': {
          await delay(fault.ms);
          const output = await next(args);
          entry.reached = true;
          entry.status = statusOf(output);
          return output;
        }
        case 'lost-response': {
          const output = await next(args);
          entry.reached = true;
          entry.status = statusOf(output);
          discardBody(output.response);
          if (fault.as === 'timeout') return toBlackHole();
          throw connectionReset();
        }
      }
    };

  const plugin: Pluggable<ServiceInputTypes, ServiceOutputTypes> = {
    applyToStack: (stack) => {
      stack.remove(SDK_FAULT_MIDDLEWARE_NAME);
      stack.add(middleware, { step: 'deserialize', priority: 'low', name: SDK_FAULT_MIDDLEWARE_NAME, override: true });
    },
  };
  client.middlewareStack.use(plugin);

  return {
    inject(rule) {
      const entry = { rule, matched: 0, fired: 0, removed: false };
      rules.push(entry);
      return {
        rule,
        get matched() {
          return entry.matched;
        },
        get fired() {
          return entry.fired;
        },
        remove() {
          entry.removed = true;
        },
      };
    },
    clear() {
      for (const entry of rules) entry.removed = true;
      rules.length = 0;
    },
    log,
    calls(command, filter) {
      return log.filter((call) => (command === undefined || call.command === command) && (filter === undefined || filter(call)));
    },
    plugin,
    close: () => blackHole.close(),
  };
}
