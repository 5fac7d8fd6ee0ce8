/**
 * The chat service's webhook payload and a strict parser for it. The parser never throws on bad
 * input: it returns every problem it found, each naming the field, what was wrong and what is
 * expected, so the sender can fix all of them in one go.
 */

/** Largest accepted request body, in bytes (after base64 decoding when the body is base64). */
export const WEBHOOK_BODY_BYTES_MAX = 16 * 1024;
/*
 * Lengths are counted in UTF-16 code units (JavaScript's `length`), as the chat API counts them:
 * a room accepted here is then always accepted by `POST /messages`. An emoji counts as two.
 */
/** Longest accepted `messageId`, in characters. */
export const MESSAGE_ID_CHARS_MAX = 128;
/** Longest accepted `room`, in UTF-16 code units. */
export const ROOM_CHARS_MAX = 128;
/** Longest accepted `user`, in UTF-16 code units. */
export const USER_CHARS_MAX = 128;
/** Longest accepted `text`, in UTF-16 code units. */
export const TEXT_CHARS_MAX = 4000;

/** Characters allowed in a `messageId` (it becomes part of the reply's id, so it stays plain). */
const MESSAGE_ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
/** Standard base64 as API Gateway and Function URLs produce it (padded, no line breaks). */
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/**
 * With the `u` flag a surrogate class matches only *unpaired* surrogates: JSON can smuggle them
 * in (`"\ud800"`), and they cannot be re-encoded as UTF-8 without silently changing the text.
 */
const LONE_SURROGATE_PATTERN = /[\uD800-\uDFFF]/u;

/**
 * A chat webhook: one message posted in a room.
 *
 * @example
 * ```ts
 * const webhook: ChatWebhook = { messageId: 'm-42', room: 'general', user: 'ada', text: 'hello', sentAtMs: 1_700_000_000_000 };
 * ```
 */
export interface ChatWebhook {
  /** Unique id of the message: 1..128 characters from `[A-Za-z0-9._:-]`. */
  readonly messageId: string;
  /** Room the message was posted in: 1..128 UTF-16 code units. */
  readonly room: string;
  /** Who posted it: 1..128 UTF-16 code units. */
  readonly user: string;
  /** The message text: 0..4000 UTF-16 code units of any (well-formed) Unicode. */
  readonly text: string;
  /** When it was sent, integer epoch ms. */
  readonly sentAtMs: number;
}

/**
 * One thing wrong with a webhook request.
 *
 * @example
 * ```ts
 * const reason: WebhookProblem = { field: 'room', problem: 'is missing', expected: 'a string of 1..128 characters, e.g. "general"' };
 * ```
 */
export interface WebhookProblem {
  /** The offending field (`body` for the request body as a whole). */
  readonly field: string;
  /** What was wrong with it. */
  readonly problem: string;
  /** What is expected instead, with an example. */
  readonly expected: string;
}

/**
 * What {@link parseWebhook} returns: the webhook, or every problem found.
 *
 * @example
 * ```ts
 * const result: WebhookParseResult = parseWebhook({ body: '{}', isBase64Encoded: false });
 * if (!result.ok) console.log(result.reasons.map((r) => r.field)); // ['messageId', 'room', …]
 * ```
 */
export type WebhookParseResult =
  | { readonly ok: true; readonly webhook: ChatWebhook }
  | { readonly ok: false; readonly reasons: readonly WebhookProblem[] };

/**
 * The parts of an HTTP request {@link parseWebhook} reads.
 *
 * @example
 * ```ts
 * const request: WebhookRequest = { body: 'eyJ9', isBase64Encoded: true };
 * ```
 */
export interface WebhookRequest {
  /** The raw body, as the Lambda event carries it. */
  readonly body?: string | undefined;
  /**
   * Whether `body` is base64 (Lambda sets it for binary or non-text content types).
   * @defaultValue false
   */
  readonly isBase64Encoded?: boolean | undefined;
}

const EXPECTED = {
  body: `a JSON object of at most ${WEBHOOK_BODY_BYTES_MAX} bytes, e.g. {"messageId":"m-42","room":"general","user":"ada","text":"hi","sentAtMs":1700000000000}`,
  messageId: `a string of 1..${MESSAGE_ID_CHARS_MAX} characters from [A-Za-z0-9._:-], e.g. "m-42"`,
  room: `a string of 1..${ROOM_CHARS_MAX} UTF-16 code units (an emoji counts 2), e.g. "general"`,
  user: `a string of 1..${USER_CHARS_MAX} UTF-16 code units (an emoji counts 2), e.g. "ada"`,
  text: `a string of 0..${TEXT_CHARS_MAX} UTF-16 code units (an emoji counts 2) of well-formed Unicode, e.g. "hello"`,
  sentAtMs: 'a non-negative integer epoch time in milliseconds, e.g. 1700000000000',
} as const;

/** Reason for the body as a whole. */
function bodyProblem(problem: string): WebhookParseResult {
  return { ok: false, reasons: [{ field: 'body', problem, expected: EXPECTED.body }] };
}

/** Describes a JSON value's type for an error message, without echoing the value. */
function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Decodes the body to text, enforcing the size limit before and after decoding. */
function decodeBody(request: WebhookRequest): { ok: true; text: string } | { ok: false; result: WebhookParseResult } {
  const { body } = request;
  if (body === undefined || body === '') return { ok: false, result: bodyProblem('is missing or empty') };
  // The type says string, but events come from outside the type system.
  if (typeof body !== 'string') return { ok: false, result: bodyProblem(`is ${jsonTypeOf(body)}, not a string`) };
  if (request.isBase64Encoded === true) {
    // Every 4 base64 characters carry 3 bytes: reject a hopeless body before decoding it at all.
    if (body.length > Math.ceil(WEBHOOK_BODY_BYTES_MAX / 3) * 4) return { ok: false, result: bodyProblem(`is larger than ${WEBHOOK_BODY_BYTES_MAX} bytes`) };
    if (!BASE64_PATTERN.test(body)) return { ok: false, result: bodyProblem('is marked base64-encoded but is not valid base64') };
    const bytes = Buffer.from(body, 'base64');
    if (bytes.byteLength > WEBHOOK_BODY_BYTES_MAX) return { ok: false, result: bodyProblem(`is ${bytes.byteLength} bytes, larger than ${WEBHOOK_BODY_BYTES_MAX} bytes`) };
    try {
      return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
    } catch {
      return { ok: false, result: bodyProblem('is not valid UTF-8 after base64 decoding') };
    }
  }
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  if (bodyBytes > WEBHOOK_BODY_BYTES_MAX) return { ok: false, result: bodyProblem(`is ${bodyBytes} bytes, larger than ${WEBHOOK_BODY_BYTES_MAX} bytes`) };
  return { ok: true, text: body };
}

/** Checks a free-text string field; returns the problem, or `undefined` when fine. */
function textFieldProblem(value: unknown, charsMin: number, charsMax: number): string | undefined {
  if (value === undefined) return 'is missing';
  if (typeof value !== 'string') return `is ${jsonTypeOf(value)}, not a string`;
  if (LONE_SURROGATE_PATTERN.test(value)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode)';
  const chars = value.length;
  if (chars < charsMin) return 'is empty';
  if (chars > charsMax) return `is ${chars} UTF-16 code units long, longer than ${charsMax}`;
  return undefined;
}

/** Checks `messageId`; returns the problem, or `undefined` when fine. */
function messageIdProblem(value: unknown): string | undefined {
  if (value === undefined) return 'is missing';
  if (typeof value !== 'string') return `is ${jsonTypeOf(value)}, not a string`;
  if (value.length === 0) return 'is empty';
  if (value.length > MESSAGE_ID_CHARS_MAX) return `is ${value.length} characters long, longer than ${MESSAGE_ID_CHARS_MAX}`;
  if (!MESSAGE_ID_PATTERN.test(value)) return 'contains characters outside [A-Za-z0-9._:-]';
  return undefined;
}

/** Checks `sentAtMs`; returns the problem, or `undefined` when fine. */
function sentAtMsProblem(value: unknown): string | undefined {
  if (value === undefined) return 'is missing';
  if (typeof value !== 'number') return `is ${jsonTypeOf(value)}, not a number`;
  if (!Number.isSafeInteger(value)) return 'is not an integer (or too large to be exact)';
  if (value < 0) return 'is negative';
  return undefined;
}

/**
 * Parses and validates a chat webhook request body. Unknown fields are ignored; every problem
 * is reported, not just the first. The body limit ({@link WEBHOOK_BODY_BYTES_MAX}) is measured
 * in bytes after base64 decoding when `isBase64Encoded` is set. Never throws.
 *
 * @example
 * ```ts
 * const result = parseWebhook({ body: event.body, isBase64Encoded: event.isBase64Encoded });
 * if (result.ok) reply(result.webhook);
 * else return { statusCode: 400, body: JSON.stringify({ error: 'bad-request', reasons: result.reasons }) };
 * ```
 */
export function parseWebhook(request: WebhookRequest): WebhookParseResult {
  const decoded = decodeBody(request);
  if (!decoded.ok) return decoded.result;
  let json: unknown;
  try {
    json = JSON.parse(decoded.text);
  } catch {
    return bodyProblem('is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bodyProblem(`is ${jsonTypeOf(json)}, not a JSON object`);

  // Own properties only: a body like {"__proto__": …} must not reach the prototype chain.
  const field = (name: keyof ChatWebhook): unknown => (Object.hasOwn(json, name) ? (json as Record<string, unknown>)[name] : undefined);
  const values = {
    messageId: field('messageId'),
    room: field('room'),
    user: field('user'),
    text: field('text'),
    sentAtMs: field('sentAtMs'),
  };
  const problems: Array<readonly [keyof ChatWebhook, string | undefined]> = [
    ['messageId', messageIdProblem(values.messageId)],
    ['room', textFieldProblem(values.room, 1, ROOM_CHARS_MAX)],
    ['user', textFieldProblem(values.user, 1, USER_CHARS_MAX)],
    ['text', textFieldProblem(values.text, 0, TEXT_CHARS_MAX)],
    ['sentAtMs', sentAtMsProblem(values.sentAtMs)],
  ];
  const reasons: WebhookProblem[] = [];
  for (const [name, problem] of problems) {
    if (problem !== undefined) reasons.push({ field: name, problem, expected: EXPECTED[name] });
  }
  if (reasons.length > 0) return { ok: false, reasons };
  return {
    ok: true,
    webhook: {
      messageId: values.messageId as string,
      room: values.room as string,
      user: values.user as string,
      text: values.text as string,
      sentAtMs: values.sentAtMs as number,
    },
  };
}
