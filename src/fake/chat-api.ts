/**
 * An in-memory model of the quirky chat API that Baton exists for, strict enough to judge every
 * test and the demo:
 *
 * - `POST /auth` with the secret issues a new token and **invalidates every earlier token**;
 * - nobody can read the current token back;
 * - tokens may expire after a TTL;
 * - `POST /messages` answers 401 unless the bearer is the single current, unexpired token.
 *
 * No I/O and no timers: time comes from an injected clock and tokens from an injected generator
 * (or a seeded one), so a run is reproducible. Tokens never leave this model except as the answer
 * to a successful {@link FakeChatApi.auth}; the log, stats and errors show fingerprints only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { InvalidOptionsError } from '../runtime/errors.js';
import { fingerprint } from '../runtime/fingerprint.js';

/** How `POST /auth` behaves; settable at runtime to inject faults. */
export const AUTH_MODES = ['ok', 'refuse', 'error-500', 'drop-after-issue'] as const;
/**
 * One of {@link AUTH_MODES}:
 * - `ok`: a right secret gets a new token, a wrong one 401;
 * - `refuse`: every call gets 401 (the secret was rotated);
 * - `error-500`: every call gets 500 and nothing is issued;
 * - `drop-after-issue`: a right secret makes the server issue (and so invalidate every earlier
 *   token) but the answer is lost: the caller sees an error, the token is known to nobody.
 */
export type AuthMode = (typeof AUTH_MODES)[number];

/** Why a bearer was answered 401. */
export const TOKEN_REJECTION_REASONS = ['missing', 'unknown', 'superseded', 'expired'] as const;
/** One of {@link TOKEN_REJECTION_REASONS}. */
export type TokenRejectionReason = (typeof TOKEN_REJECTION_REASONS)[number];

/** Most log entries kept; older ones are dropped and counted in `logEntriesDropped`. */
export const AUTH_LOG_ENTRIES_MAX = 10_000;
/** Most delivered message ids remembered for dedupe; older ones are dropped and counted. */
export const DELIVERED_MESSAGES_MAX = 100_000;
/** Most issued tokens remembered (to tell "superseded" from "unknown" and to assert uniqueness). */
export const ISSUED_TOKENS_TRACKED_MAX = 100_000;
/** Longest accepted `messageId` / `inReplyTo`, in characters. */
export const MESSAGE_ID_CHARS_MAX = 128;
/** Longest accepted `room`, in characters. */
export const ROOM_CHARS_MAX = 128;
/** Longest accepted `text`, in characters. */
export const TEXT_CHARS_MAX = 4_000;
/** Longest accepted secret, in characters. */
export const SECRET_CHARS_MAX = 1_024;
/** Most message calls one {@link MessagesRateLimit} may cover. */
export const RATE_LIMIT_CALLS_MAX = 1_000_000;
/** Seed of the default token generator. */
export const DEFAULT_TOKEN_SEED = 0x5eed;

/** Keys a message may have; any other key is a 400, so typos in tests surface at once. */
const MESSAGE_KEYS: ReadonlySet<string> = new Set(['messageId', 'room', 'text', 'inReplyTo']);
/** Ids and bearers are printable ASCII without spaces, so they survive headers and logs intact. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * Source of the current time in epoch milliseconds.
 *
 * @example
 * ```ts
 * let nowMs = 0;
 * const clock: FakeChatClock = { now: () => nowMs };
 * ```
 */
export interface FakeChatClock {
  /** Current time, epoch milliseconds. */
  now(): number;
}

/**
 * Stands in for a request body that could not be parsed at all; the HTTP server passes it to
 * {@link FakeChatApi.auth} / {@link FakeChatApi.postMessage} so every 400 is counted and logged
 * in one place.
 *
 * @example
 * ```ts
 * api.postMessage(bearer, new MalformedRequest('body is not valid JSON')); // { status: 400, ... }
 * ```
 */
export class MalformedRequest {
  /** What was wrong with the body. */
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

/**
 * A message as `POST /messages` takes it.
 *
 * @example
 * ```ts
 * const message: ChatMessageInput = { messageId: 'm-1', room: 'general', text: 'hi' };
 * ```
 */
export interface ChatMessageInput {
  /** Idempotency key: a second delivery with the same id is accepted but marked duplicate. */
  readonly messageId: string;
  /** Room to post to. */
  readonly room: string;
  /** Message text, non-empty. */
  readonly text: string;
  /** Id of the message this one answers. */
  readonly inReplyTo?: string;
}

/**
 * A delivered message, as remembered for exactly-once assertions.
 *
 * @example
 * ```ts
 * expect(api.delivered().every((message) => message.deliveries === 1)).toBe(true);
 * ```
 */
export interface DeliveredMessage extends ChatMessageInput {
  /** When the first delivery was accepted, epoch ms. */
  readonly firstDeliveredAtMs: number;
  /** Token generation of the first delivery. */
  readonly generation: number;
  /** How many times it was accepted (1 = exactly once). */
  readonly deliveries: number;
}

/**
 * Answer to {@link FakeChatApi.auth}. `dropped` means the server issued a token but the answer
 * never reached the caller (the HTTP server destroys the socket).
 *
 * @example
 * ```ts
 * const result = api.auth('s3cret');
 * if (result.status === 200) use(result.token);
 * ```
 */
export type AuthResult =
  | { readonly status: 200; readonly token: string; readonly generation: number; readonly expiresAtMs?: number }
  | { readonly status: 400 | 401 | 500; readonly reason: string }
  | { readonly status: 'dropped'; readonly generation: number };

/**
 * Answer to {@link FakeChatApi.postMessage}.
 *
 * @example
 * ```ts
 * const result = api.postMessage(token, { messageId: 'm-1', room: 'general', text: 'hi' });
 * if (result.status === 429) wait(result.retryAfterMs);
 * ```
 */
export type PostMessageResult =
  | { readonly status: 200; readonly duplicate: boolean }
  | { readonly status: 400; readonly reason: string }
  | { readonly status: 401; readonly reason: TokenRejectionReason }
  | { readonly status: 429; readonly retryAfterMs: number };

/**
 * Fault knob: answer 429 to the next `calls` message calls.
 *
 * @example
 * ```ts
 * api.messagesRateLimit = { calls: 2, retryAfterMs: 1_500 };
 * ```
 */
export interface MessagesRateLimit {
  /** How many of the next message calls get 429 (counts down). */
  readonly calls: number;
  /** The `retryAfterMs` each 429 carries. */
  readonly retryAfterMs: number;
}

/** Fields every log entry has. */
interface LogEntryBase {
  /** Position in the whole history (keeps counting when old entries are dropped). */
  readonly seq: number;
  /** When it happened, epoch ms from the injected clock. */
  readonly atMs: number;
}

/**
 * One entry of the history log. Tokens appear only as fingerprints.
 *
 * @example
 * ```ts
 * api.authLog.entries.filter((entry) => entry.kind === 'auth' && entry.outcome === 'issued');
 * ```
 */
export type ChatLogEntry = LogEntryBase &
  (
    | { readonly kind: 'auth'; readonly outcome: 'issued' | 'dropped'; readonly generation: number; readonly tokenFingerprint: string; readonly expiresAtMs?: number }
    | { readonly kind: 'auth'; readonly outcome: 'refused' | 'error' | 'malformed'; readonly reason: string }
    | { readonly kind: 'invalidate'; readonly generation: number; readonly tokenFingerprint: string }
    | { readonly kind: 'expire'; readonly generation: number; readonly tokenFingerprint: string }
    | { readonly kind: 'auth-mode'; readonly mode: AuthMode }
    | { readonly kind: 'rate-limit'; readonly calls: number; readonly retryAfterMs: number }
    | { readonly kind: 'message'; readonly outcome: 'accepted' | 'duplicate'; readonly messageId: string; readonly room: string; readonly generation: number; readonly tokenFingerprint: string }
    | { readonly kind: 'message'; readonly outcome: 'rejected'; readonly reason: TokenRejectionReason; readonly tokenFingerprint?: string; readonly presentedGeneration?: number }
    | { readonly kind: 'message'; readonly outcome: 'rate-limited'; readonly retryAfterMs: number }
    | { readonly kind: 'message'; readonly outcome: 'malformed'; readonly reason: string }
  );

/** A {@link ChatLogEntry} before it gets its `seq` and `atMs`. */
type LogDraft = ChatLogEntry extends infer Entry ? (Entry extends LogEntryBase ? Omit<Entry, keyof LogEntryBase> : never) : never;

/**
 * A copy of the history log.
 *
 * @example
 * ```ts
 * const { entries, entriesDropped } = api.authLog;
 * ```
 */
export interface AuthLogSnapshot {
  /** The most recent entries, oldest first, at most {@link AUTH_LOG_ENTRIES_MAX}. */
  readonly entries: readonly ChatLogEntry[];
  /** How many older entries were dropped to respect the cap. */
  readonly entriesDropped: number;
}

/**
 * Counters since construction.
 *
 * @example
 * ```ts
 * expect(api.stats()).toMatchObject({ authIssued: 1, rejections: 0 });
 * ```
 */
export interface ChatApiStats {
  /** Every {@link FakeChatApi.auth} call. */
  readonly authCalls: number;
  /** Tokens issued by `auth` (including dropped answers; not {@link FakeChatApi.invalidate}). */
  readonly authIssued: number;
  /** 401 answers to `auth`. */
  readonly authRefused: number;
  /** `auth` calls whose caller got no usable answer: 500s plus dropped answers. */
  readonly authErrors: number;
  /** `auth` calls that issued a token whose answer was lost (`drop-after-issue`). */
  readonly authDropped: number;
  /** 400 answers to `auth`. */
  readonly authMalformed: number;
  /** 200 answers to `postMessage`, duplicates included (unique = accepted − duplicates). */
  readonly messagesAccepted: number;
  /** Accepted messages whose id had already been delivered. */
  readonly duplicates: number;
  /** 401 answers to `postMessage`. */
  readonly rejections: number;
  /** 429 answers to `postMessage`. */
  readonly rateLimited: number;
  /** 400 answers to `postMessage`. */
  readonly messagesMalformed: number;
  /** Outside `POST /auth` calls made with {@link FakeChatApi.invalidate}. */
  readonly invalidations: number;
  /** {@link FakeChatApi.expireCurrent} calls that expired a token. */
  readonly expirations: number;
  /** Generation of the current token; 0 before the first one. */
  readonly currentGeneration: number;
  /** Log entries dropped to respect {@link AUTH_LOG_ENTRIES_MAX}. */
  readonly logEntriesDropped: number;
  /** Delivered ids forgotten to respect {@link DELIVERED_MESSAGES_MAX} (dedupe is blind to them). */
  readonly deliveredDropped: number;
  /** Issued tokens forgotten to respect {@link ISSUED_TOKENS_TRACKED_MAX}. */
  readonly issuedTokensDropped: number;
}

/**
 * Options of {@link FakeChatApi}.
 *
 * @example
 * ```ts
 * const options: FakeChatApiOptions = { secret: 's3cret', clock: { now: () => 0 }, tokenTtlMs: 60_000 };
 * ```
 */
export interface FakeChatApiOptions {
  /** The one secret `auth` accepts. */
  readonly secret: string;
  /** Time source for expiry and the log. */
  readonly clock: FakeChatClock;
  /**
   * Token lifetime from issue.
   * @defaultValue `undefined` (tokens never expire)
   */
  readonly tokenTtlMs?: number;
  /**
   * Makes the token of each generation; must return a new, non-empty, printable-ASCII string.
   * @defaultValue a generator seeded with {@link FakeChatApiOptions.seed}
   */
  readonly generateToken?: (generation: number) => string;
  /**
   * Seed of the default token generator (ignored with `generateToken`).
   * @defaultValue {@link DEFAULT_TOKEN_SEED}
   */
  readonly seed?: number;
  /**
   * Initial {@link AuthMode}.
   * @defaultValue `'ok'`
   */
  readonly authMode?: AuthMode;
}

/** The current token; never exported as such. */
interface CurrentToken {
  readonly token: string;
  readonly generation: number;
  expiresAtMs: number | undefined;
}

/** Mutable counters behind {@link ChatApiStats}. */
type Counters = { -readonly [Key in keyof ChatApiStats]: ChatApiStats[Key] };

/**
 * The in-memory chat API.
 *
 * @example
 * ```ts
 * let nowMs = 0;
 * const api = new FakeChatApi({ secret: 's3cret', clock: { now: () => nowMs }, tokenTtlMs: 1_000 });
 * const first = api.auth('s3cret');
 * const second = api.auth('s3cret');
 * if (first.status === 200 && second.status === 200) {
 *   api.postMessage(first.token, { messageId: 'm-1', room: 'r', text: 'hi' }); // 401 superseded
 *   api.postMessage(second.token, { messageId: 'm-1', room: 'r', text: 'hi' }); // 200
 * }
 * ```
 */
export class FakeChatApi {
  readonly #secretDigest: Buffer;
  readonly #clock: FakeChatClock;
  readonly #tokenTtlMs: number | undefined;
  readonly #generateToken: (generation: number) => string;
  #authMode: AuthMode;
  #rateLimit: MessagesRateLimit | undefined;
  #current: CurrentToken | undefined;
  /** Every issued token (bounded, insertion order = age) → its generation. */
  readonly #issued = new Map<string, number>();
  /** Delivered messages by id (bounded, insertion order = age). */
  readonly #delivered = new Map<string, DeliveredMessage>();
  /** Ring buffer of the log. */
  readonly #log: ChatLogEntry[] = [];
  #logStart = 0;
  #logSeq = 0;
  readonly #counters: Counters = {
    authCalls: 0,
    authIssued: 0,
    authRefused: 0,
    authErrors: 0,
    authDropped: 0,
    authMalformed: 0,
    messagesAccepted: 0,
    duplicates: 0,
    rejections: 0,
    rateLimited: 0,
    messagesMalformed: 0,
    invalidations: 0,
    expirations: 0,
    currentGeneration: 0,
    logEntriesDropped: 0,
    deliveredDropped: 0,
    issuedTokensDropped: 0,
  };

  constructor(options: FakeChatApiOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('options', 'FakeChatApi needs an options object: { secret, clock, tokenTtlMs?, generateToken?, seed?, authMode? }.');
    }
    const { secret, clock, tokenTtlMs, generateToken, seed, authMode } = options;
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > SECRET_CHARS_MAX) {
      throw new InvalidOptionsError('secret', `FakeChatApi: secret must be a non-empty string of at most ${SECRET_CHARS_MAX} characters.`);
    }
    if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
      throw new InvalidOptionsError('clock', 'FakeChatApi: clock must be an object with a now() method returning epoch milliseconds, e.g. { now: () => nowMs }.');
    }
    if (tokenTtlMs !== undefined && !(Number.isSafeInteger(tokenTtlMs) && tokenTtlMs > 0)) {
      throw new InvalidOptionsError('tokenTtlMs', `FakeChatApi: tokenTtlMs must be a positive integer of milliseconds or undefined (never expires); got ${String(tokenTtlMs)}.`);
    }
    if (generateToken !== undefined && typeof generateToken !== 'function') {
      throw new InvalidOptionsError('generateToken', 'FakeChatApi: generateToken must be a function (generation: number) => string.');
    }
    if (seed !== undefined && !Number.isSafeInteger(seed)) {
      throw new InvalidOptionsError('seed', `FakeChatApi: seed must be an integer; got ${String(seed)}.`);
    }
    this.#secretDigest = digest(secret);
    this.#clock = clock;
    this.#tokenTtlMs = tokenTtlMs;
    this.#generateToken = generateToken ?? seededTokenGenerator(seed ?? DEFAULT_TOKEN_SEED);
    this.#authMode = parseAuthMode(authMode ?? 'ok');
  }

  /** How `auth` behaves now. Setting it validates the mode and logs the change. */
  get authMode(): AuthMode {
    return this.#authMode;
  }

  set authMode(mode: AuthMode) {
    this.#authMode = parseAuthMode(mode);
    this.#append({ kind: 'auth-mode', mode: this.#authMode });
  }

  /** Remaining rate limit, or `undefined` when message calls are not limited. Set `undefined` to lift it. */
  get messagesRateLimit(): MessagesRateLimit | undefined {
    return this.#rateLimit;
  }

  set messagesRateLimit(limit: MessagesRateLimit | undefined) {
    if (limit === undefined) {
      this.#rateLimit = undefined;
      return;
    }
    if (typeof limit !== 'object' || limit === null) {
      throw new InvalidOptionsError('messagesRateLimit', 'messagesRateLimit must be { calls, retryAfterMs } or undefined.');
    }
    const { calls, retryAfterMs } = limit;
    if (!Number.isSafeInteger(calls) || calls < 1 || calls > RATE_LIMIT_CALLS_MAX) {
      throw new InvalidOptionsError('messagesRateLimit.calls', `messagesRateLimit.calls must be an integer from 1 to ${RATE_LIMIT_CALLS_MAX}; got ${String(calls)}.`);
    }
    if (!Number.isSafeInteger(retryAfterMs) || retryAfterMs < 1) {
      throw new InvalidOptionsError('messagesRateLimit.retryAfterMs', `messagesRateLimit.retryAfterMs must be a positive integer of milliseconds; got ${String(retryAfterMs)}.`);
    }
    this.#rateLimit = { calls, retryAfterMs };
    this.#append({ kind: 'rate-limit', calls, retryAfterMs });
  }

  /**
   * `POST /auth`. On success every earlier token stops working at once.
   *
   * @param secret - Whatever the caller sent; anything but a string is a 400.
   * @example
   * ```ts
   * const result = api.auth('s3cret'); // { status: 200, token, generation: 1 }
   * ```
   */
  auth(secret: unknown): AuthResult {
    this.#counters.authCalls += 1;
    const malformed = secret instanceof MalformedRequest ? secret.reason : describeBadSecret(secret);
    if (malformed !== undefined) {
      this.#counters.authMalformed += 1;
      this.#append({ kind: 'auth', outcome: 'malformed', reason: malformed });
      return { status: 400, reason: malformed };
    }
    const mode = this.#authMode;
    if (mode === 'error-500') {
      const reason = 'internal error (fault injected: authMode error-500)';
      this.#counters.authErrors += 1;
      this.#append({ kind: 'auth', outcome: 'error', reason });
      return { status: 500, reason };
    }
    if (mode === 'refuse' || !this.#secretMatches(secret as string)) {
      const reason = mode === 'refuse' ? 'secret refused (fault injected: authMode refuse)' : 'wrong secret';
      this.#counters.authRefused += 1;
      this.#append({ kind: 'auth', outcome: 'refused', reason });
      return { status: 401, reason };
    }
    const issued = this.#issue();
    this.#counters.authIssued += 1;
    const shown = { generation: issued.generation, tokenFingerprint: fingerprint(issued.token), ...optionalExpiry(issued.expiresAtMs) };
    if (mode === 'drop-after-issue') {
      this.#counters.authDropped += 1;
      this.#counters.authErrors += 1;
      this.#append({ kind: 'auth', outcome: 'dropped', ...shown });
      return { status: 'dropped', generation: issued.generation };
    }
    this.#append({ kind: 'auth', outcome: 'issued', ...shown });
    return { status: 200, token: issued.token, generation: issued.generation, ...optionalExpiry(issued.expiresAtMs) };
  }

  /**
   * `POST /messages`. Checks, in order: rate limit (429), bearer (401), message (400).
   *
   * @param bearer - The token from `Authorization: Bearer …`, `undefined` if absent.
   * @param message - Whatever the caller sent; validated strictly.
   * @example
   * ```ts
   * api.postMessage(token, { messageId: 'm-1', room: 'general', text: 'hi' }); // { status: 200, duplicate: false }
   * ```
   */
  postMessage(bearer: string | undefined, message: unknown): PostMessageResult {
    const limit = this.#rateLimit;
    if (limit !== undefined) {
      this.#rateLimit = limit.calls > 1 ? { calls: limit.calls - 1, retryAfterMs: limit.retryAfterMs } : undefined;
      this.#counters.rateLimited += 1;
      this.#append({ kind: 'message', outcome: 'rate-limited', retryAfterMs: limit.retryAfterMs });
      return { status: 429, retryAfterMs: limit.retryAfterMs };
    }
    const rejection = this.#checkBearer(bearer);
    if (rejection !== undefined) {
      this.#counters.rejections += 1;
      this.#append({ kind: 'message', outcome: 'rejected', ...rejection });
      return { status: 401, reason: rejection.reason };
    }
    const current = this.#current;
    if (current === undefined) throw new Error('FakeChatApi bug: a bearer was accepted without a current token');
    const reason = message instanceof MalformedRequest ? message.reason : describeBadMessage(message);
    if (reason !== undefined) {
      this.#counters.messagesMalformed += 1;
      this.#append({ kind: 'message', outcome: 'malformed', reason });
      return { status: 400, reason };
    }
    const valid = message as ChatMessageInput;
    const seen = this.#delivered.get(valid.messageId);
    const duplicate = seen !== undefined;
    if (seen === undefined) {
      this.#remember({
        messageId: valid.messageId,
        room: valid.room,
        text: valid.text,
        ...(valid.inReplyTo === undefined ? {} : { inReplyTo: valid.inReplyTo }),
        firstDeliveredAtMs: this.#now(),
        generation: current.generation,
        deliveries: 1,
      });
    } else {
      this.#delivered.set(valid.messageId, { ...seen, deliveries: seen.deliveries + 1 });
      this.#counters.duplicates += 1;
    }
    this.#counters.messagesAccepted += 1;
    this.#append({
      kind: 'message',
      outcome: duplicate ? 'duplicate' : 'accepted',
      messageId: valid.messageId,
      room: valid.room,
      generation: current.generation,
      tokenFingerprint: fingerprint(current.token),
    });
    return { status: 200, duplicate };
  }

  /**
   * An outside party calls `POST /auth`: a new token that nobody in the fleet knows becomes
   * current, so every token the fleet holds is now rejected.
   *
   * @example
   * ```ts
   * const { generation } = api.invalidate();
   * ```
   */
  invalidate(): { readonly generation: number } {
    const issued = this.#issue();
    this.#counters.invalidations += 1;
    this.#append({ kind: 'invalidate', generation: issued.generation, tokenFingerprint: fingerprint(issued.token) });
    return { generation: issued.generation };
  }

  /**
   * The current token expires now. Returns `false` (and changes nothing) if there is no token yet.
   *
   * @example
   * ```ts
   * api.expireCurrent(); // the next message with the current token gets 401 'expired'
   * ```
   */
  expireCurrent(): boolean {
    const current = this.#current;
    if (current === undefined) return false;
    const nowMs = this.#now();
    current.expiresAtMs = current.expiresAtMs === undefined ? nowMs : Math.min(current.expiresAtMs, nowMs);
    this.#counters.expirations += 1;
    this.#append({ kind: 'expire', generation: current.generation, tokenFingerprint: fingerprint(current.token) });
    return true;
  }

  /**
   * What is current, shown safely (fingerprint, never the token).
   *
   * @example
   * ```ts
   * expect(api.current()?.tokenFingerprint).toBe(fingerprint(tokenTheFleetHolds));
   * ```
   */
  current(): { readonly generation: number; readonly tokenFingerprint: string; readonly expiresAtMs?: number; readonly expired: boolean } | undefined {
    const current = this.#current;
    if (current === undefined) return undefined;
    return {
      generation: current.generation,
      tokenFingerprint: fingerprint(current.token),
      ...optionalExpiry(current.expiresAtMs),
      expired: this.#isExpired(current),
    };
  }

  /**
   * Counters since construction (a copy).
   *
   * @example
   * ```ts
   * api.stats().currentGeneration; // 0 before the first token
   * ```
   */
  stats(): ChatApiStats {
    return { ...this.#counters };
  }

  /**
   * The history log of auth calls, faults and message outcomes (a copy; fingerprints only).
   *
   * @example
   * ```ts
   * for (const entry of api.authLog.entries) console.log(entry.seq, entry.kind);
   * ```
   */
  get authLog(): AuthLogSnapshot {
    const entries = [...this.#log.slice(this.#logStart), ...this.#log.slice(0, this.#logStart)];
    return { entries, entriesDropped: this.#counters.logEntriesDropped };
  }

  /**
   * Every remembered delivered message, oldest first (a copy).
   *
   * @example
   * ```ts
   * expect(api.delivered().map((message) => message.messageId)).toEqual(['m-1', 'm-2']);
   * ```
   */
  delivered(): readonly DeliveredMessage[] {
    return [...this.#delivered.values()];
  }

  /**
   * How many times `messageId` was accepted (0 if never or forgotten).
   *
   * @example
   * ```ts
   * expect(api.deliveries('m-1')).toBe(1); // exactly once
   * ```
   */
  deliveries(messageId: string): number {
    return this.#delivered.get(messageId)?.deliveries ?? 0;
  }

  #now(): number {
    const nowMs = this.#clock.now();
    if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
      throw new InvalidOptionsError('clock', `FakeChatApi: clock.now() returned ${String(nowMs)}; it must return a finite number of epoch milliseconds.`);
    }
    return nowMs;
  }

  #secretMatches(secret: string): boolean {
    // Compare digests in constant time so even the fake does not model a timing side channel.
    return timingSafeEqual(digest(secret), this.#secretDigest);
  }

  #isExpired(current: CurrentToken): boolean {
    return current.expiresAtMs !== undefined && this.#now() >= current.expiresAtMs;
  }

  /** Makes a new current token; the previous one stops working from this moment. */
  #issue(): CurrentToken {
    const generation = (this.#current?.generation ?? 0) + 1;
    const token = this.#generateToken(generation);
    if (typeof token !== 'string' || !VISIBLE_ASCII.test(token)) {
      throw new InvalidOptionsError('generateToken', `FakeChatApi: generateToken(${generation}) must return a non-empty string of printable ASCII without spaces.`);
    }
    if (this.#issued.has(token)) {
      throw new InvalidOptionsError('generateToken', `FakeChatApi: generateToken(${generation}) returned a token already issued (${fingerprint(token)}); tokens must be unique.`);
    }
    const expiresAtMs = this.#tokenTtlMs === undefined ? undefined : this.#now() + this.#tokenTtlMs;
    this.#issued.set(token, generation);
    if (this.#issued.size > ISSUED_TOKENS_TRACKED_MAX) {
      const oldest = this.#issued.keys().next();
      if (!oldest.done) this.#issued.delete(oldest.value);
      this.#counters.issuedTokensDropped += 1;
    }
    this.#current = { token, generation, expiresAtMs };
    this.#counters.currentGeneration = generation;
    return this.#current;
  }

  /** Why `bearer` is not acceptable, or `undefined` if it is the current unexpired token. */
  #checkBearer(bearer: string | undefined): { reason: TokenRejectionReason; tokenFingerprint?: string; presentedGeneration?: number } | undefined {
    if (typeof bearer !== 'string' || bearer.length === 0) return { reason: 'missing' };
    const tokenFingerprint = fingerprint(bearer);
    const current = this.#current;
    if (current !== undefined && bearer === current.token) {
      return this.#isExpired(current) ? { reason: 'expired', tokenFingerprint, presentedGeneration: current.generation } : undefined;
    }
    const presentedGeneration = this.#issued.get(bearer);
    return presentedGeneration === undefined ? { reason: 'unknown', tokenFingerprint } : { reason: 'superseded', tokenFingerprint, presentedGeneration };
  }

  #remember(message: DeliveredMessage): void {
    this.#delivered.set(message.messageId, message);
    if (this.#delivered.size > DELIVERED_MESSAGES_MAX) {
      const oldest = this.#delivered.keys().next();
      if (!oldest.done) this.#delivered.delete(oldest.value);
      this.#counters.deliveredDropped += 1;
    }
  }

  #append(draft: LogDraft): void {
    this.#logSeq += 1;
    const entry = { seq: this.#logSeq, atMs: this.#now(), ...draft } as ChatLogEntry;
    if (this.#log.length < AUTH_LOG_ENTRIES_MAX) {
      this.#log.push(entry);
      return;
    }
    // Full: overwrite the oldest slot so appending stays O(1) however long the run.
    this.#log[this.#logStart] = entry;
    this.#logStart = (this.#logStart + 1) % AUTH_LOG_ENTRIES_MAX;
    this.#counters.logEntriesDropped += 1;
  }
}

/**
 * Whether `value` is one of {@link AUTH_MODES}.
 *
 * @example
 * ```ts
 * isAuthMode('refuse'); // true
 * ```
 */
export function isAuthMode(value: unknown): value is AuthMode {
  return typeof value === 'string' && (AUTH_MODES as readonly string[]).includes(value);
}

/**
 * Why `value` is not a valid {@link ChatMessageInput}, or `undefined` if it is.
 *
 * @example
 * ```ts
 * describeBadMessage({ messageId: '', room: 'r', text: 'hi' }); // 'messageId must be …'
 * ```
 */
export function describeBadMessage(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'the message must be a JSON object { messageId, room, text, inReplyTo? }';
  }
  const record = value as Record<string, unknown>;
  const unexpected = Object.keys(record).filter((key) => !MESSAGE_KEYS.has(key));
  if (unexpected.length > 0) {
    return `unexpected field(s) ${unexpected.slice(0, 5).map((key) => JSON.stringify(key.slice(0, 40))).join(', ')}; allowed: messageId, room, text, inReplyTo`;
  }
  const idProblem = describeBadId('messageId', record['messageId']);
  if (idProblem !== undefined) return idProblem;
  const room = record['room'];
  if (typeof room !== 'string' || room.length === 0 || room.length > ROOM_CHARS_MAX) {
    return `room must be a non-empty string of at most ${ROOM_CHARS_MAX} characters`;
  }
  const text = record['text'];
  if (typeof text !== 'string' || text.length === 0 || text.length > TEXT_CHARS_MAX) {
    return `text must be a non-empty string of at most ${TEXT_CHARS_MAX} characters`;
  }
  if ('inReplyTo' in record) return describeBadId('inReplyTo', record['inReplyTo']);
  return undefined;
}

function describeBadId(field: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MESSAGE_ID_CHARS_MAX || !VISIBLE_ASCII.test(value)) {
    return `${field} must be a non-empty string of at most ${MESSAGE_ID_CHARS_MAX} printable ASCII characters without spaces`;
  }
  return undefined;
}

function describeBadSecret(secret: unknown): string | undefined {
  if (typeof secret !== 'string' || secret.length === 0 || secret.length > SECRET_CHARS_MAX) {
    return `secret must be a non-empty string of at most ${SECRET_CHARS_MAX} characters`;
  }
  return undefined;
}

function parseAuthMode(mode: unknown): AuthMode {
  if (!isAuthMode(mode)) {
    throw new InvalidOptionsError('authMode', `authMode must be one of ${AUTH_MODES.join(', ')}; got ${JSON.stringify(String(mode).slice(0, 40))}.`);
  }
  return mode;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** `{ expiresAtMs }` when defined, `{}` otherwise (exactOptionalPropertyTypes forbids `undefined`). */
function optionalExpiry(expiresAtMs: number | undefined): { expiresAtMs?: number } {
  return expiresAtMs === undefined ? {} : { expiresAtMs };
}

/**
 * A reproducible token generator: mulberry32 seeded with `seed`. The generation is part of the
 * token, so tokens are unique by construction; the random part makes them look opaque.
 */
function seededTokenGenerator(seed: number): (generation: number) => string {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return (mixed ^ (mixed >>> 14)) >>> 0;
  };
  return (generation) => {
    const random = [next(), next(), next(), next()].map((word) => word.toString(16).padStart(8, '0')).join('');
    return `ct_${generation.toString(36)}_${random}`;
  };
}
