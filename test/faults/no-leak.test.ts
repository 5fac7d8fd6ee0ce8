/**
 * No secret and no token ever appears in a log line, an error, an event, an answer or a report.
 *
 * Every token the fake chat APIs of this file issue starts with `LEAKCHECK-tok-`, the auth secret
 * with `LEAKCHECK-secret-`; planted items carry `LEAKCHECK-tok-` values too. The run below exercises
 * the DynamoDB and chat fault scenarios of this suite plus end-to-end handler runs, and captures
 * EVERY log line (a capturing logger given to every coordinator and handler, and `console` spies),
 * every error (message, stack, causes, `inspect` and JSON forms), every protocol event and every
 * HTTP answer. Tokens may appear only as `fingerprint(token)`.
 *
 * Then a tiny multi-process demo runs (from the build); its report, event log, timeline and output
 * are scanned for the fake chat API's seeded token pattern and for the exact tokens of its seed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeChatApi } from '../../src/fake/chat-api.js';
import type { AuthMode } from '../../src/fake/chat-api.js';
import { startFakeChatServer } from '../../src/fake/chat-server.js';
import type { FakeChatServer } from '../../src/fake/chat-server.js';
import { createChatClient } from '../../src/lambda/chat-client.js';
import type { ChatClient } from '../../src/lambda/chat-client.js';
import { loadBotConfig } from '../../src/lambda/config.js';
import { createHandler } from '../../src/lambda/handler.js';
import type { BotHandler } from '../../src/lambda/handler.js';
import type { HttpApiEventV2, HttpApiResultV2 } from '../../src/lambda/http.js';
import { createTokenCoordinator } from '../../src/runtime/coordinator.js';
import type { TokenCoordinator, TokenCoordinatorOptions } from '../../src/runtime/api.js';
import { TokenRejectedError } from '../../src/runtime/errors.js';
import type { BatonEvent } from '../../src/runtime/events.js';
import { fingerprint } from '../../src/runtime/fingerprint.js';
import { AUTH_SECRET, capturingLogger, everythingAbout, fakeIssuer, REGION, SHORT_REQUEST_TIMEOUT_MS, startDynaliteRig, TOKEN_PREFIX, tokenLedger } from '../support/fault-rig.js';
import type { DynaliteRig, FakeIssuer, TokenLedger } from '../support/fault-rig.js';
import { isBatonIntent } from '../support/sdk-faults.js';
import type { SdkFaultLayer } from '../support/sdk-faults.js';

const TABLE = 'baton-no-leak';
/** Anything that starts like one of our tokens or our secret is a leak. */
const LEAK_PATTERN = /LEAKCHECK-(tok|secret)/;

/** Everything the run produced, as text. */
const logLines: string[] = [];
const events: BatonEvent[] = [];
const errors: unknown[] = [];
const answers: HttpApiResultV2[] = [];
/** Every token any fake issuer of this file minted (plus planted ones). */
const ledgers: TokenLedger[] = [];
const planted: string[] = [];
const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

let rig: DynaliteRig;
const servers: FakeChatServer[] = [];

/** The demo (from the build) runs in the background while the scenarios below run. */
const DEMO_MAIN_JS = fileURLToPath(new URL('../../dist/demo/main.js', import.meta.url));
const DEMO_SEED = 11;
const demoDir = mkdtempSync(join(tmpdir(), 'baton-no-leak-demo-'));
let demo: Promise<{ status: number | null; output: string }> | undefined;
let demoChild: ReturnType<typeof spawn> | undefined;

function startDemo(): Promise<{ status: number | null; output: string }> {
  const args = ['--instances', '2', '--messages', '30', '--incidents', '1', '--spread-ms', '7000', '--auth-latency-ms', '50', '--seed', String(DEMO_SEED), '--json', join(demoDir, 'demo.json')];
  const child = spawn(process.execPath, [DEMO_MAIN_JS, ...args], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  demoChild = child;
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, output })));
}

beforeAll(async () => {
  if (existsSync(DEMO_MAIN_JS)) demo = startDemo();
  for (const method of consoleMethods) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logLines.push(`console.${method} ${args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 10 }))).join(' ')}`);
    });
  }
  rig = await startDynaliteRig(TABLE);
});

afterAll(async () => {
  if (demoChild !== undefined && demoChild.exitCode === null) demoChild.kill('SIGKILL');
  await demo;
  rmSync(demoDir, { recursive: true, force: true });
  vi.restoreAllMocks();
  await Promise.all(servers.map((server) => server.close()));
  await rig.close();
});

const { logger } = capturingLogger(logLines);

function allTokens(): string[] {
  return [...ledgers.flatMap((ledger) => ledger.tokens), ...planted];
}

/** Every place a leak could show, as one text per source. */
function surfaces(): Array<[string, string]> {
  return [
    ...logLines.map((line, i): [string, string] => [`log line ${i}`, line]),
    ...events.map((event, i): [string, string] => [`event ${i} (${event.type})`, JSON.stringify(event)]),
    ...errors.map((error, i): [string, string] => [`error ${i} (${error instanceof Error ? error.name : typeof error})`, everythingAbout(error)]),
    ...answers.map((answer, i): [string, string] => [`answer ${i}`, JSON.stringify(answer)]),
  ];
}

/** Where a token, the secret or anything with their prefix shows up. */
function leaksIn(sources: ReadonlyArray<[string, string]>): string[] {
  const secrets = [AUTH_SECRET, ...allTokens()];
  const found: string[] = [];
  for (const [where, text] of sources) {
    for (const secret of secrets) if (text.includes(secret)) found.push(`${where} contains ${secret === AUTH_SECRET ? 'the auth secret' : `token ${fingerprint(secret)}`}`);
    if (LEAK_PATTERN.test(text)) found.push(`${where} contains ${LEAK_PATTERN.exec(text)?.[0]}…: ${text.slice(0, 300)}`);
  }
  return [...new Set(found)];
}

function expectNothingLeaked(): void {
  expect(leaksIn(surfaces())).toEqual([]);
}

/** Records what a promise ended with; never rethrows. */
async function settle<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    errors.push(error);
    return undefined;
  }
}

function issuer(options: { latencyMs?: number } = {}): FakeIssuer {
  const made = fakeIssuer(options);
  ledgers.push(made.ledger);
  return made;
}

async function coordinatorOn(options: { maxAttempts: number; issuer: FakeIssuer; key?: string; coordinator?: Partial<TokenCoordinatorOptions> }): Promise<{
  coordinator: TokenCoordinator;
  faults: SdkFaultLayer;
  key: string;
}> {
  const { client, faults } = await rig.faultClient({ maxAttempts: options.maxAttempts, requestTimeoutMs: SHORT_REQUEST_TIMEOUT_MS });
  const key = options.key ?? rig.freshKey('no-leak');
  const coordinator = createTokenCoordinator({
    store: rig.store(client, key),
    issueToken: (context) => options.issuer.issueToken(context),
    pollMs: 10,
    logger,
    onEvent: (event) => events.push(event),
    ...options.coordinator,
  });
  return { coordinator, faults, key };
}

/** `fn` that posts through the issuer's model and reports 401 as a rejection. */
function postVia(fake: FakeIssuer, messageId: string): (token: string) => Promise<string> {
  return async (token) => {
    const answer = fake.api.postMessage(token, { messageId, room: 'general', text: 'hi' });
    if (answer.status === 401) throw new TokenRejectedError(`chat API answered 401 (${answer.reason})`);
    if (answer.status !== 200) throw new Error(`chat API answered ${answer.status}`);
    return messageId;
  };
}

describe('the scan itself', () => {
  it('finds a token, the secret, or their prefix anywhere', () => {
    const token = `${TOKEN_PREFIX}control`;
    planted.push(token);
    expect(leaksIn([['control', `Bearer ${token}`]])).not.toEqual([]);
    expect(leaksIn([['control', JSON.stringify({ secret: AUTH_SECRET })]])).not.toEqual([]);
    expect(leaksIn([['control', 'LEAKCHECK-tok-']])).not.toEqual([]);
    expect(leaksIn([['control', `token ${fingerprint(token)}`]])).toEqual([]);
  });
});

describe('DynamoDB fault scenarios leak nothing', () => {
  it('throttled and failing reads, lost claims and publishes, a publish that keeps failing, a refused publish', async () => {
    const fake = issuer();
    // Throttled read, then fine.
    const a = await coordinatorOn({ maxAttempts: 3, issuer: fake });
    a.faults.inject({ command: 'GetItem', calls: [1, 2], fault: { kind: 'throttle' } });
    await settle(a.coordinator.withToken(postVia(fake, 'd-1')));
    // Persistent 500 on reads.
    const b = await coordinatorOn({ maxAttempts: 2, issuer: fake, key: a.key });
    b.faults.inject({ command: 'GetItem', fault: { kind: 'server-error' } });
    await settle(b.coordinator.withToken(postVia(fake, 'd-2')));
    // Lost claim and lost publish, with and without SDK retries, on fresh items.
    for (const maxAttempts of [1, 3]) {
      for (const intent of ['claim', 'publish'] as const) {
        const fresh = issuer();
        const c = await coordinatorOn({ maxAttempts, issuer: fresh });
        c.faults.inject({ command: 'UpdateItem', when: isBatonIntent(intent), times: 1, fault: { kind: 'lost-response', as: maxAttempts === 3 ? 'timeout' : 'connection-reset' } });
        await settle(c.coordinator.withToken(postVia(fresh, `d-lost-${intent}-${maxAttempts}`)));
      }
    }
    // A publish that fails with 500 until the caller's deadline passes, then heals.
    const healing = issuer();
    const d = await coordinatorOn({ maxAttempts: 2, issuer: healing });
    const failing = d.faults.inject({ command: 'UpdateItem', when: isBatonIntent('publish'), fault: { kind: 'server-error' } });
    await settle(d.coordinator.withToken(postVia(healing, 'd-3'), { deadlineMs: Date.now() + 300 }));
    failing.remove();
    await settle(d.coordinator.withToken(postVia(healing, 'd-4'), { deadlineMs: Date.now() + 3_000 }));
    // A publish refused by IAM: the token was issued but is never published nor shown.
    const refused = issuer();
    const e = await coordinatorOn({ maxAttempts: 2, issuer: refused });
    e.faults.inject({
      command: 'UpdateItem',
      when: isBatonIntent('publish'),
      fault: { kind: 'service-error', statusCode: 400, errorName: 'AccessDeniedException', message: 'not authorized to perform dynamodb:UpdateItem' },
    });
    await settle(e.coordinator.withToken(postVia(refused, 'd-5')));

    expect(errors.map((error) => (error as Error).name)).toEqual(['StoreUnavailableError', 'StoreUnavailableError', 'StoreMisconfiguredError']);
    expect(allTokens().length).toBeGreaterThanOrEqual(7);
    expect(logLines.some((line) => line.includes('store write outcome unknown'))).toBe(true);
    expectNothingLeaked();
  });

  it('items Baton cannot read, holding token-like values', async () => {
    const items: ReadonlyArray<[string, Record<string, AttributeValue>]> = [
      ['newer schema', { schemaVersion: { N: '2' }, revision: { N: '1' }, generation: { N: '1' }, token: { S: `${TOKEN_PREFIX}planted-v2` } }],
      ['token as a map', { schemaVersion: { N: '1' }, revision: { N: '1' }, generation: { N: '1' }, token: { M: { value: { S: `${TOKEN_PREFIX}planted-map` } } } }],
      // (Attribute names are quoted in messages by design, so only values carry the planted token.)
      ['foreign item', { apiToken: { S: `${TOKEN_PREFIX}planted-foreign` }, sessions: { L: [{ S: `${TOKEN_PREFIX}planted-foreign` }] } }],
    ];
    for (const [label, attributes] of items) {
      planted.push(`${TOKEN_PREFIX}planted-v2`, `${TOKEN_PREFIX}planted-map`, `${TOKEN_PREFIX}planted-foreign`);
      const fake = issuer();
      const key = rig.freshKey(`planted-${label.replace(/ /g, '-')}`);
      await rig.putRaw(key, attributes);
      const c = await coordinatorOn({ maxAttempts: 2, issuer: fake, key });
      await settle(c.coordinator.withToken(postVia(fake, 'p-1')));
    }
    expect(errors.some((error) => error instanceof Error && error.name === 'RecordInvalidError')).toBe(true);
    expectNothingLeaked();
  });

  it('rejections, an outside invalidation with a fresh-token alarm, and exhausted attempts', async () => {
    const fake = issuer();
    const key = rig.freshKey('rejections');
    const fleet = await Promise.all([1, 2, 3].map(() => coordinatorOn({ maxAttempts: 3, issuer: fake, key })));
    await Promise.all(fleet.map((member, i) => settle(member.coordinator.withToken(postVia(fake, `r-${i}`)))));
    fake.api.invalidate();
    await Promise.all(fleet.map((member, i) => settle(member.coordinator.withToken(postVia(fake, `r-after-${i}`)))));
    const [first] = fleet;
    await settle(
      first!.coordinator.withToken(async () => {
        throw new TokenRejectedError('chat API answered 401 (forced)');
      }),
    );
    expect(events.some((event) => event.type === 'alarm')).toBe(true);
    expect(errors.some((error) => error instanceof Error && error.name === 'AttemptsExhaustedError')).toBe(true);
    expectNothingLeaked();
  });
});

describe('chat faults and end-to-end handler runs leak nothing', () => {
  interface Chat {
    readonly api: FakeChatApi;
    readonly server: FakeChatServer;
  }

  async function startChat(authLatencyMs = 0): Promise<Chat> {
    const ledger = tokenLedger();
    ledgers.push(ledger);
    const api = new FakeChatApi({ secret: AUTH_SECRET, clock: { now: () => Date.now() }, generateToken: ledger.generateToken });
    const server = await startFakeChatServer({ api, port: 0, authLatencyMs });
    servers.push(server);
    return { api, server };
  }

  async function botFor(chat: Chat, key: string, options: { chatClient?: ChatClient; leaseMs?: number } = {}): Promise<(messageId: string) => Promise<HttpApiResultV2>> {
    const { client } = await rig.faultClient({ maxAttempts: 3 });
    const config = loadBotConfig({
      CHAT_API_URL: chat.server.url,
      CHAT_AUTH_SECRET: AUTH_SECRET,
      BATON_TABLE: TABLE,
      BATON_KEY: key,
      AWS_REGION: REGION,
      DYNAMODB_ENDPOINT: rig.endpoint,
      BOT_REPLY_DEADLINE_MS: '5000',
    });
    const handler: BotHandler = createHandler(config, {
      store: rig.store(client, key),
      logger,
      onEvent: (event) => events.push(event),
      coordinatorOptions: { pollMs: 10, ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }) },
      ...(options.chatClient === undefined ? {} : { chatClient: options.chatClient }),
    });
    return async (messageId) => {
      const event: HttpApiEventV2 = {
        version: '2.0',
        rawPath: '/webhook',
        requestContext: { requestId: messageId, http: { method: 'POST', path: '/webhook' } },
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messageId, room: 'general', user: 'ada', text: `hi ${messageId}`, sentAtMs: 1_700_000_000_000 }),
        isBase64Encoded: false,
      };
      const answer = await handler(event, { awsRequestId: messageId, getRemainingTimeInMillis: () => 30_000 });
      answers.push(answer);
      return answer;
    };
  }

  /** A chat client whose transport fails once per path with an error quoting the bearer and the secret. */
  function leakyTransport(chat: Chat, paths: readonly string[]): ChatClient {
    const pending = new Set(paths);
    return createChatClient({
      baseUrl: chat.server.url,
      secret: AUTH_SECRET,
      fetch: async (input, init) => {
        const path = new URL(String(input)).pathname;
        if (pending.delete(path)) {
          const authorization = new Headers(init?.headers).get('authorization') ?? 'none';
          throw new TypeError('fetch failed', {
            cause: Object.assign(new Error(`socket reset while sending "${authorization}" body ${String(init?.body)} (secret ${AUTH_SECRET})`), { code: 'ECONNRESET' }),
          });
        }
        return fetch(input, init);
      },
    });
  }

  it('a normal run, invalidations and expiries, 429, 5xx, transport errors quoting the token, and an unknown error', async () => {
    const chat = await startChat();
    const key = rig.freshKey('e2e');
    const one = await botFor(chat, key);
    const two = await botFor(chat, key);
    for (let i = 0; i < 3; i += 1) await Promise.all([one(`e-${i}-a`), two(`e-${i}-b`)]);
    chat.api.invalidate();
    await Promise.all([one('e-inv-a'), two('e-inv-b')]);
    chat.api.expireCurrent();
    await Promise.all([one('e-exp-a'), two('e-exp-b')]);
    chat.api.messagesRateLimit = { calls: 2, retryAfterMs: 1_500 };
    await Promise.all([one('e-429-a'), two('e-429-b')]);

    let failNext = true;
    const fiveHundred = await botFor(chat, key, {
      chatClient: createChatClient({
        baseUrl: chat.server.url,
        secret: AUTH_SECRET,
        fetch: async (input, init) => {
          if (String(input).endsWith('/messages') && failNext) {
            failNext = false;
            return new Response(JSON.stringify({ error: `upstream failed for ${new Headers(init?.headers).get('authorization') ?? ''}` }), { status: 503 });
          }
          return fetch(input, init);
        },
      }),
    });
    await fiveHundred('e-503');

    const leaky = await botFor(chat, rig.freshKey('e2e-leaky'), { chatClient: leakyTransport(chat, ['/auth', '/messages']) });
    await leaky('e-leaky-1');
    await leaky('e-leaky-2');
    await leaky('e-leaky-3');

    // The coordinator and chat client used directly, errors kept whole.
    const chatClient = leakyTransport(chat, ['/messages']);
    const { client } = await rig.faultClient({ maxAttempts: 2 });
    const direct = createTokenCoordinator({ store: rig.store(client, key), issueToken: ({ signal }) => chatClient.issueToken({ signal }), logger, onEvent: (event) => events.push(event) });
    await settle(direct.withToken((token) => chatClient.postMessage(token, { messageId: 'direct-1', room: 'general', text: 'hi' })));

    const unknown = await botFor(chat, key, {
      chatClient: {
        issueToken: (options) => createChatClient({ baseUrl: chat.server.url, secret: AUTH_SECRET }).issueToken(options),
        postMessage: async (token) => {
          throw new Error(`boom with ${token} and ${AUTH_SECRET}`);
        },
      },
    });
    await unknown('e-unknown');

    expect(answers.some((answer) => answer.statusCode === 200)).toBe(true);
    expect(answers.some((answer) => answer.statusCode === 503)).toBe(true);
    expect(answers.some((answer) => answer.statusCode === 500)).toBe(true);
    expect(errors.some((error) => error instanceof Error && error.name === 'ChatApiError')).toBe(true);
    // Tokens are visible as fingerprints: the positive control that the surfaces are populated.
    const used = events.filter((event) => event.type === 'token-used').map((event) => (event.type === 'token-used' ? event.fingerprint : ''));
    expect(allTokens().some((token) => used.includes(fingerprint(token)))).toBe(true);
    expect(logLines.some((line) => /"tokenFingerprint":"fp:[0-9a-f]{10}"/.test(line))).toBe(true);
    expectNothingLeaked();
  });

  it.each(['refuse', 'error-500', 'drop-after-issue'] as const)('POST /auth in mode %s', async (mode: AuthMode) => {
    const chat = await startChat();
    chat.api.authMode = mode;
    const bot = await botFor(chat, rig.freshKey(`auth-${mode}`), { leaseMs: 1_000 });
    await bot('a-1');
    await bot('a-2');
    expect(answers.at(-1)?.statusCode).toBe(503);
    expectNothingLeaked();
  });

  it('an issuer slower than the lease (lease 400 ms, POST /auth 600 ms)', async () => {
    const chat = await startChat(600);
    const bot = await botFor(chat, rig.freshKey('slow'), { leaseMs: 400 });
    await bot('s-1');
    chat.server.setLatency({ authLatencyMs: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await bot('s-2');
    expect(answers.at(-1)?.statusCode).toBe(200);
    expectNothingLeaked();
  });
});

describe('the demo leaks no token', () => {
  /** What the fake chat API's seeded generator produces (`ct_<generation base 36>_<32 hex>`). */
  const SEEDED_TOKEN_PATTERN = /ct_[0-9a-z]+_[0-9a-f]{32}/;

  it('writes report, event log and timeline with fingerprints only (2 instances, 30 messages, 1 incident)', async () => {
    expect(demo, `${DEMO_MAIN_JS} is missing: run \`npm run build\` first (npm test does)`).toBeDefined();
    const { status, output } = await demo!;
    expect(status, output).toBe(0);

    const files = readdirSync(demoDir).sort();
    expect(files).toEqual(['demo-events.jsonl', 'demo-timeline.html', 'demo.json']);
    const texts: Array<[string, string]> = [['demo output', output], ...files.map((file): [string, string] => [file, readFileSync(join(demoDir, file), 'utf8')])];

    // The tokens the demo's chat API issued: same seed, same generator, same order.
    const replica = new FakeChatApi({ secret: 'replica-secret', clock: { now: () => 0 }, seed: DEMO_SEED });
    const demoTokens = Array.from({ length: 20 }, () => {
      const issued = replica.auth('replica-secret');
      if (issued.status !== 200) throw new Error('replica refused');
      return issued.token;
    });
    // Positive control: the events name tokens by their fingerprints, so the replica is right.
    // (An `invalidate` incident also draws a token, one nobody receives: not every token is published.)
    const eventsText = texts.find(([name]) => name === 'demo-events.jsonl')?.[1] ?? '';
    expect(eventsText).toContain(fingerprint(demoTokens[0]!));
    expect(demoTokens.slice(1).filter((token) => eventsText.includes(fingerprint(token))).length).toBeGreaterThanOrEqual(1);
    for (const [name, text] of texts) {
      expect(SEEDED_TOKEN_PATTERN.exec(text)?.[0], name).toBeUndefined();
      for (const token of demoTokens) expect(text.includes(token), `${name} contains a demo token`).toBe(false);
      expect(text, name).not.toMatch(/"token"\s*:/);
    }
  }, 40_000);
});

describe('the whole run', () => {
  it('leaked nothing anywhere', () => {
    expect(logLines.length).toBeGreaterThan(50);
    expect(events.length).toBeGreaterThan(100);
    expect(errors.length).toBeGreaterThan(5);
    expectNothingLeaked();
  });
});
