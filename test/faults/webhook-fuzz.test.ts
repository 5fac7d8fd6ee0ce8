/**
 * Fuzzes the bot Lambda with bad webhooks: invalid JSON, wrong types, missing fields, huge strings,
 * unicode (lone surrogates, non-ASCII ids), base64 bodies (invalid, invalid UTF-8, encoding bad
 * JSON) and malformed events. Expected, for every input: a 4xx answer with reasons, never a crash,
 * never a refresh — 0 POST /auth, 0 token-store calls, 0 DynamoDB requests, 0 messages posted.
 *
 * The handler is the real one, with a `DynamoDBTokenStore` over a real client on embedded dynalite
 * and the real chat client talking to the fake chat API over HTTP, so any leak into the token path
 * would be counted. Seed: `FC_SEED` (printed), runs: `FC_RUNS`.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeChatApi } from '../../src/fake/chat-api.js';
import { startFakeChatServer } from '../../src/fake/chat-server.js';
import type { FakeChatServer } from '../../src/fake/chat-server.js';
import { loadBotConfig } from '../../src/lambda/config.js';
import { createHandler } from '../../src/lambda/handler.js';
import type { BotHandler } from '../../src/lambda/handler.js';
import type { HttpApiEventV2, HttpApiResultV2 } from '../../src/lambda/http.js';
import { WEBHOOK_BODY_BYTES_MAX } from '../../src/lambda/webhook.js';
import type { TokenStore } from '../../src/runtime/store.js';
import { AUTH_SECRET, capturingLogger, REGION, startDynaliteRig, tokenLedger } from '../support/fault-rig.js';
import type { DynaliteRig } from '../support/fault-rig.js';
import type { SdkFaultLayer } from '../support/sdk-faults.js';

const SEED = Number(process.env['FC_SEED'] ?? 20_240_612) | 0;
const RUNS = Number(process.env['FC_RUNS'] ?? 400);
const TABLE = 'baton-webhook-fuzz';
/** No 4xx answer should be larger than this: reasons never echo the (possibly huge) input. */
const ANSWER_BYTES_MAX = 4_096;

let rig: DynaliteRig;
let server: FakeChatServer;
let api: FakeChatApi;
let handler: BotHandler;
let faults: SdkFaultLayer;
let lines: string[];
const storeCalls: string[] = [];

beforeAll(async () => {
  console.info(`webhook fuzz: FC_SEED=${SEED} FC_RUNS=${RUNS}`);
  rig = await startDynaliteRig(TABLE);
  api = new FakeChatApi({ secret: AUTH_SECRET, clock: { now: () => Date.now() }, generateToken: tokenLedger().generateToken });
  server = await startFakeChatServer({ api, port: 0 });
  const faulty = await rig.faultClient({ maxAttempts: 1 });
  faults = faulty.faults;
  const inner = rig.store(faulty.client, 'fuzz-bot');
  const counting: TokenStore = {
    read: (options) => {
      storeCalls.push('read');
      return inner.read(options);
    },
    write: (request) => {
      storeCalls.push(`write:${request.intent}`);
      return inner.write(request);
    },
    describe: () => inner.describe(),
  };
  const captured = capturingLogger();
  lines = captured.lines;
  const config = loadBotConfig({
    CHAT_API_URL: server.url,
    CHAT_AUTH_SECRET: AUTH_SECRET,
    BATON_TABLE: TABLE,
    BATON_KEY: 'fuzz-bot',
    AWS_REGION: REGION,
    DYNAMODB_ENDPOINT: rig.endpoint,
  });
  handler = createHandler(config, { store: counting, logger: captured.logger });
});

afterAll(async () => {
  await server.close();
  await rig.close();
});

const VALID = { messageId: 'm-1', room: 'general', user: 'ada', text: 'hello', sentAtMs: 1_700_000_000_000 } as const;
type Field = keyof typeof VALID;
const FIELDS = Object.keys(VALID) as Field[];

/** Whether a body could possibly be a valid webhook, by an independent (looser) check. */
function couldBeValid(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return false;
    return FIELDS.every((field) => Object.hasOwn(parsed, field));
  } catch {
    return false;
  }
}

function event(body: unknown, overrides: Partial<HttpApiEventV2> = {}): HttpApiEventV2 {
  return {
    version: '2.0',
    rawPath: '/webhook',
    requestContext: { requestId: 'fuzz', http: { method: 'POST', path: '/webhook' } },
    headers: { 'content-type': 'application/json' },
    body: body as string,
    isBase64Encoded: false,
    ...overrides,
  };
}

const base64 = (text: string | Uint8Array): string => Buffer.from(text).toString('base64');

/** A value of any JSON type but the one `field` needs (or of that type but out of range). */
function wrongValueFor(field: Field): fc.Arbitrary<unknown> {
  const notString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }));
  if (field === 'sentAtMs') {
    return fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.integer({ max: -1 }),
      fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }),
      fc.constantFrom(2 ** 53, -(2 ** 60), 1e300),
      fc.array(fc.integer(), { maxLength: 2 }),
    );
  }
  if (field === 'messageId') {
    return fc.oneof(
      notString,
      fc.constant(''),
      fc.string({ minLength: 129, maxLength: 300 }).map((s) => `a${s.replace(/[^A-Za-z0-9._:-]/g, 'x')}`.padEnd(129, 'x')),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => !/^[A-Za-z0-9._:-]+$/.test(s)),
    );
  }
  if (field === 'text') {
    return fc.oneof(notString, fc.string({ minLength: 4_001, maxLength: 4_200 }), fc.constantFrom('\ud800', 'ok \udfff', 'x\ud83d'));
  }
  // room, user
  return fc.oneof(notString, fc.constant(''), fc.string({ minLength: 129, maxLength: 400 }), fc.constantFrom('\ud800', 'room \udc00'));
}

/** A valid webhook with at least one field replaced by a wrong value and/or removed. */
const brokenWebhook: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.subarray(FIELDS, { minLength: 1 }),
    fc.boolean(),
    fc.dictionary(
      fc.string({ maxLength: 8 }).filter((key) => !(FIELDS as string[]).includes(key)),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 3 },
    ),
  )
  .chain(([broken, remove, extra]) =>
    fc.tuple(...broken.map((field) => wrongValueFor(field))).map((values) => {
      const webhook: Record<string, unknown> = { ...extra, ...VALID };
      broken.forEach((field, i) => {
        if (remove && i % 2 === 0) delete webhook[field];
        else webhook[field] = values[i];
      });
      return webhook;
    }),
  );

const unicodeText = fc.string({ unit: 'grapheme', maxLength: 200 });

const events: fc.Arbitrary<{ label: string; event: HttpApiEventV2 }> = fc.oneof(
  // Invalid JSON (or JSON that is not a webhook): arbitrary text, unicode included, and truncated JSON.
  fc.oneof(fc.string({ maxLength: 300 }), unicodeText, fc.string({ unit: 'binary', maxLength: 300 })).filter((text) => !couldBeValid(text)).map((text) => ({ label: 'arbitrary text', event: event(text) })),
  fc.integer({ min: 1, max: JSON.stringify(VALID).length - 1 }).map((cut) => ({ label: 'truncated JSON', event: event(JSON.stringify(VALID).slice(0, cut)) })),
  fc.jsonValue().filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)).map((value) => ({ label: 'JSON that is not an object', event: event(JSON.stringify(value)) })),
  // Wrong types, missing fields, huge and unicode strings.
  brokenWebhook.map((webhook) => ({ label: 'broken webhook', event: event(JSON.stringify(webhook)) })),
  fc.integer({ min: WEBHOOK_BODY_BYTES_MAX + 1, max: WEBHOOK_BODY_BYTES_MAX * 4 }).map((bytes) => ({
    label: 'oversized body',
    event: event(JSON.stringify({ ...VALID, pad: 'x'.repeat(bytes) })),
  })),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }).map((emoji) => ({
    label: 'oversized unicode body',
    event: event(JSON.stringify({ ...VALID, text: emoji.repeat(Math.ceil((WEBHOOK_BODY_BYTES_MAX + 1) / Math.max(1, Buffer.byteLength(emoji)))) })),
  })),
  // base64 bodies.
  fc.string({ minLength: 1, maxLength: 200 }).filter((text) => !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)).map((text) => ({
    label: 'not base64 but flagged base64',
    event: event(text, { isBase64Encoded: true }),
  })),
  brokenWebhook.map((webhook) => ({ label: 'base64 of a broken webhook', event: event(base64(JSON.stringify(webhook)), { isBase64Encoded: true }) })),
  fc.string({ maxLength: 200 }).filter((text) => !couldBeValid(text)).map((text) => ({ label: 'base64 of non-JSON', event: event(base64(text), { isBase64Encoded: true }) })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({
    label: 'base64 of invalid UTF-8',
    event: event(base64(new Uint8Array([...bytes, 0xff, 0xfe])), { isBase64Encoded: true }),
  })),
  fc.integer({ min: WEBHOOK_BODY_BYTES_MAX + 1, max: WEBHOOK_BODY_BYTES_MAX * 2 }).map((bytes) => ({
    label: 'oversized base64 body',
    event: event(base64(JSON.stringify({ ...VALID, pad: 'y'.repeat(bytes) })), { isBase64Encoded: true }),
  })),
  // Malformed events.
  fc.oneof(fc.constant(undefined), fc.constant(''), fc.integer(), fc.constant(null), fc.dictionary(fc.string({ maxLength: 5 }), fc.string())).map((body) => ({
    label: 'body missing or not a string',
    event: event(body),
  })),
  fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'get', 'X'.repeat(100)).map((method) => ({
    label: 'not POST',
    event: event(JSON.stringify(VALID), { requestContext: { http: { method, path: '/webhook' } } }),
  })),
  fc.oneof(fc.constant({}), fc.constant({ requestContext: {} }), fc.constant({ requestContext: { http: {} } }), fc.record({ httpMethod: fc.constant('POST'), body: fc.constant(JSON.stringify(VALID)) })).map((shape) => ({
    label: 'not an HTTP payload v2 event',
    event: shape as unknown as HttpApiEventV2,
  })),
);

describe('webhook fuzz', () => {
  it('answers every bad webhook with a 4xx and reasons, never crashes, never touches the token', async () => {
    const seen = new Map<string, number>();
    let invocations = 0;
    await fc.assert(
      fc.asyncProperty(events, async ({ label, event: input }) => {
        seen.set(label, (seen.get(label) ?? 0) + 1);
        invocations += 1;
        let result: HttpApiResultV2;
        try {
          result = await handler(input, { awsRequestId: `fuzz-${invocations}`, getRemainingTimeInMillis: () => 30_000 });
        } catch (error) {
          throw new Error(`the handler threw on ${label}: ${String(error)}`);
        }
        expect(result.statusCode, label).toBeGreaterThanOrEqual(400);
        expect(result.statusCode, label).toBeLessThan(500);
        expect(result.headers['content-type']).toMatch(/^application\/json/);
        expect(Buffer.byteLength(result.body)).toBeLessThan(ANSWER_BYTES_MAX);
        const body = JSON.parse(result.body) as { error?: unknown; reasons?: unknown };
        expect(['bad-request', 'method-not-allowed']).toContain(body.error);
        expect(Array.isArray(body.reasons) && body.reasons.length > 0).toBe(true);
        for (const reason of body.reasons as Array<Record<string, unknown>>) {
          expect(Object.keys(reason).sort()).toEqual(['expected', 'field', 'problem']);
          for (const key of ['expected', 'field', 'problem']) expect(typeof reason[key] === 'string' && (reason[key] as string).length > 0).toBe(true);
        }
        // Never a refresh, never the store, never the chat API.
        expect(storeCalls).toEqual([]);
        expect(faults.log).toEqual([]);
        expect(api.stats().authCalls).toBe(0);
      }),
      { seed: SEED, numRuns: RUNS },
    );

    console.info(`webhook fuzz: ${invocations} invocations: ${[...seen].map(([label, count]) => `${label} ${count}`).join(', ')}`);
    expect(seen.size).toBeGreaterThanOrEqual(12);
    expect(handler.coordinator.stats()).toEqual({
      authCalls: 0,
      cacheHits: 0,
      rejections: 0,
      claimsWon: 0,
      claimsLost: 0,
      takeovers: 0,
      fencedPublishes: 0,
      fencedWrites: 0,
      storeReads: 0,
      storeWrites: 0,
      publishes: 0,
      alarms: 0,
    });
    expect(api.stats()).toMatchObject({ authCalls: 0, messagesAccepted: 0, messagesMalformed: 0, rejections: 0 });
    // One structured log line per invocation, each a bad request (or method-not-allowed).
    const invocationLines = lines.filter((line) => line.includes('"baton-bot invocation"'));
    expect(invocationLines).toHaveLength(invocations);
    expect(invocationLines.every((line) => /"outcome":"(bad-request|method-not-allowed)"/.test(line))).toBe(true);
  }, 30_000);

  it('still delivers a valid webhook afterwards (the fuzzed handler is healthy)', async () => {
    // Expected: 200 sent, exactly 1 POST /auth, the reply delivered once.
    const result = await handler(event(JSON.stringify(VALID)), { awsRequestId: 'after-fuzz', getRemainingTimeInMillis: () => 30_000 });
    expect(result.statusCode).toBe(200);
    expect(api.stats()).toMatchObject({ authCalls: 1, messagesAccepted: 1 });
    expect(api.deliveries('reply:m-1')).toBe(1);
  });
});
