import { describe, expect, it } from 'vitest';
import { buildReply, REPLY_ID_CHARS_MAX, REPLY_TEXT_CHARS_MAX, replyIdFor } from '../../src/lambda/reply.js';
import { parseWebhook, WEBHOOK_BODY_BYTES_MAX } from '../../src/lambda/webhook.js';
import type { WebhookParseResult, WebhookProblem } from '../../src/lambda/webhook.js';

const valid = { messageId: 'm-42', room: 'general', user: 'ada', text: 'hello', sentAtMs: 1_700_000_000_000 } as const;

function parseJson(value: unknown): WebhookParseResult {
  return parseWebhook({ body: JSON.stringify(value), isBase64Encoded: false });
}

function reasonsOf(result: WebhookParseResult): readonly WebhookProblem[] {
  if (result.ok) throw new Error('expected the webhook to be refused');
  return result.reasons;
}

function onlyReason(result: WebhookParseResult): WebhookProblem {
  const reasons = reasonsOf(result);
  expect(reasons).toHaveLength(1);
  const [reason] = reasons;
  if (reason === undefined) throw new Error('unreachable');
  return reason;
}

describe('parseWebhook: valid bodies', () => {
  it('accepts a valid webhook and returns exactly its five fields', () => {
    expect(parseJson(valid)).toEqual({ ok: true, webhook: valid });
  });

  it('ignores unknown fields', () => {
    expect(parseJson({ ...valid, extra: { nested: true }, version: 3 })).toEqual({ ok: true, webhook: valid });
  });

  it('accepts an empty text and any unicode text', () => {
    expect(parseJson({ ...valid, text: '' }).ok).toBe(true);
    const unicode = 'héllo 👋🏽 世界 \u0000 \n\t مرحبا';
    expect(parseJson({ ...valid, text: unicode })).toEqual({ ok: true, webhook: { ...valid, text: unicode } });
  });

  it('accepts every allowed messageId character and the length bounds', () => {
    expect(parseJson({ ...valid, messageId: 'Az09._:-' }).ok).toBe(true);
    expect(parseJson({ ...valid, messageId: 'x' }).ok).toBe(true);
    expect(parseJson({ ...valid, messageId: 'x'.repeat(128) }).ok).toBe(true);
    expect(parseJson({ ...valid, room: 'r'.repeat(128), user: 'u'.repeat(128), text: 't'.repeat(4000) }).ok).toBe(true);
  });

  it('accepts sentAtMs 0', () => {
    expect(parseJson({ ...valid, sentAtMs: 0 }).ok).toBe(true);
  });

  it('decodes base64 bodies', () => {
    const body = Buffer.from(JSON.stringify({ ...valid, text: 'ünïcödé 🎉' }), 'utf8').toString('base64');
    expect(parseWebhook({ body, isBase64Encoded: true })).toEqual({ ok: true, webhook: { ...valid, text: 'ünïcödé 🎉' } });
  });
});

describe('parseWebhook: the body', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
  ])('refuses a %s body', (_, body) => {
    const reason = onlyReason(parseWebhook({ body, isBase64Encoded: false }));
    expect(reason).toMatchObject({ field: 'body', problem: 'is missing or empty' });
    expect(reason.expected).toContain('JSON object');
  });

  it('refuses invalid JSON', () => {
    expect(onlyReason(parseWebhook({ body: '{"messageId":', isBase64Encoded: false }))).toMatchObject({ field: 'body', problem: 'is not valid JSON' });
  });

  it.each([
    ['an array', '[1,2]'],
    ['null', 'null'],
    ['a string', '"hi"'],
    ['a number', '42'],
  ])('refuses a body that is %s', (kind, body) => {
    expect(onlyReason(parseWebhook({ body, isBase64Encoded: false })).problem).toBe(`is ${kind}, not a JSON object`);
  });

  it('accepts a body of exactly the limit and refuses one byte more (measured in UTF-8 bytes)', () => {
    const base = JSON.stringify({ ...valid, text: '' });
    const pad = (bytes: number): string => JSON.stringify({ ...valid, text: '', pad: 'p'.repeat(bytes - base.length - ',"pad":""'.length) });
    expect(Buffer.byteLength(pad(WEBHOOK_BODY_BYTES_MAX))).toBe(WEBHOOK_BODY_BYTES_MAX);
    expect(parseWebhook({ body: pad(WEBHOOK_BODY_BYTES_MAX), isBase64Encoded: false }).ok).toBe(true);
    const reason = onlyReason(parseWebhook({ body: pad(WEBHOOK_BODY_BYTES_MAX + 1), isBase64Encoded: false }));
    expect(reason).toMatchObject({ field: 'body', problem: `is ${WEBHOOK_BODY_BYTES_MAX + 1} bytes, larger than ${WEBHOOK_BODY_BYTES_MAX} bytes` });
  });

  it('counts bytes, not characters: multi-byte text can exceed the limit with fewer characters', () => {
    // 6000 × 3-byte characters = 18 000 bytes but only 6000 characters.
    const body = JSON.stringify({ ...valid, pad: '€'.repeat(6000) });
    expect(body.length).toBeLessThan(WEBHOOK_BODY_BYTES_MAX);
    expect(onlyReason(parseWebhook({ body, isBase64Encoded: false })).problem).toMatch(/larger than 16384 bytes/);
  });

  it('measures base64 bodies after decoding', () => {
    const exact = JSON.stringify({ ...valid, pad: 'p'.repeat(WEBHOOK_BODY_BYTES_MAX - JSON.stringify({ ...valid, pad: '' }).length) });
    expect(Buffer.byteLength(exact)).toBe(WEBHOOK_BODY_BYTES_MAX);
    const encoded = Buffer.from(exact).toString('base64');
    // The encoded form is a third larger than the limit, yet the decoded body fits.
    expect(encoded.length).toBeGreaterThan(WEBHOOK_BODY_BYTES_MAX);
    expect(parseWebhook({ body: encoded, isBase64Encoded: true }).ok).toBe(true);
    const tooBig = Buffer.from(`${exact} `).toString('base64');
    expect(onlyReason(parseWebhook({ body: tooBig, isBase64Encoded: true })).problem).toMatch(/larger than 16384 bytes/);
  });

  it('refuses a huge base64 body before decoding it', () => {
    const huge = 'A'.repeat(4 * 1024 * 1024);
    expect(onlyReason(parseWebhook({ body: huge, isBase64Encoded: true })).problem).toBe(`is larger than ${WEBHOOK_BODY_BYTES_MAX} bytes`);
  });

  it('refuses a body marked base64 that is not base64', () => {
    expect(onlyReason(parseWebhook({ body: '{"messageId":"m"}', isBase64Encoded: true })).problem).toBe('is marked base64-encoded but is not valid base64');
    expect(onlyReason(parseWebhook({ body: 'abc', isBase64Encoded: true })).problem).toBe('is marked base64-encoded but is not valid base64');
  });

  it('refuses base64 bodies that are not UTF-8', () => {
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64');
    expect(onlyReason(parseWebhook({ body, isBase64Encoded: true })).problem).toBe('is not valid UTF-8 after base64 decoding');
  });

  it('does not read fields from the prototype chain', () => {
    const body = `{"__proto__":{"messageId":"m","room":"r","user":"u","text":"t","sentAtMs":1}}`;
    expect(reasonsOf(parseWebhook({ body, isBase64Encoded: false })).map((r) => r.field)).toEqual(['messageId', 'room', 'user', 'text', 'sentAtMs']);
  });
});

describe('parseWebhook: field rules', () => {
  it('reports every missing field at once, each with what is expected', () => {
    const reasons = reasonsOf(parseJson({}));
    expect(reasons.map((r) => [r.field, r.problem])).toEqual([
      ['messageId', 'is missing'],
      ['room', 'is missing'],
      ['user', 'is missing'],
      ['text', 'is missing'],
      ['sentAtMs', 'is missing'],
    ]);
    for (const reason of reasons) expect(reason.expected).toMatch(/e\.g\./);
  });

  it.each([
    ['messageId', '', 'is empty'],
    ['messageId', 'x'.repeat(129), 'is 129 characters long, longer than 128'],
    ['messageId', 'has space', 'contains characters outside [A-Za-z0-9._:-]'],
    ['messageId', 'm/1', 'contains characters outside [A-Za-z0-9._:-]'],
    ['messageId', 'mé', 'contains characters outside [A-Za-z0-9._:-]'],
    ['messageId', 42, 'is a number, not a string'],
    ['messageId', null, 'is null, not a string'],
    ['room', '', 'is empty'],
    ['room', 'r'.repeat(129), 'is 129 UTF-16 code units long, longer than 128'],
    ['room', '🎉'.repeat(65), 'is 130 UTF-16 code units long, longer than 128'],
    ['room', ['general'], 'is an array, not a string'],
    ['user', '', 'is empty'],
    ['user', 'u'.repeat(129), 'is 129 UTF-16 code units long, longer than 128'],
    ['user', { name: 'ada' }, 'is an object, not a string'],
    ['text', 't'.repeat(4001), 'is 4001 UTF-16 code units long, longer than 4000'],
    ['text', '\ud800 lone', 'contains an unpaired UTF-16 surrogate (not valid Unicode)'],
    ['text', true, 'is a boolean, not a string'],
    ['sentAtMs', '1700000000000', 'is a string, not a number'],
    ['sentAtMs', 1.5, 'is not an integer (or too large to be exact)'],
    ['sentAtMs', 2 ** 60, 'is not an integer (or too large to be exact)'],
    ['sentAtMs', -1, 'is negative'],
  ])('refuses %s = %j: %s', (field, value, problem) => {
    const reason = onlyReason(parseJson({ ...valid, [field]: value }));
    expect(reason.field).toBe(field);
    expect(reason.problem).toBe(problem);
    expect(reason.expected.length).toBeGreaterThan(10);
  });

  it('never echoes field values back', () => {
    const reasons = reasonsOf(parseJson({ messageId: 'evil value!', room: 7, user: '', text: 'x'.repeat(5000), sentAtMs: 'soon' }));
    expect(reasons).toHaveLength(5);
    expect(JSON.stringify(reasons)).not.toContain('evil value');
    expect(JSON.stringify(reasons)).not.toContain('soon');
  });
});

describe('buildReply', () => {
  it('echoes the text mentioning the user, in the same room, as reply:<id>', () => {
    expect(buildReply(valid)).toEqual({ messageId: 'reply:m-42', room: 'general', text: '@ada you said: hello', inReplyTo: 'm-42' });
  });

  it('answers an empty text with a non-empty reply', () => {
    expect(buildReply({ ...valid, text: '' }).text).toBe('@ada sent an empty message');
  });

  it('keeps reply ids within the chat API limit, deterministically', () => {
    const longId = 'x'.repeat(128);
    expect(replyIdFor(longId)).toMatch(/^reply:sha256:[0-9a-f]{64}$/);
    expect(replyIdFor(longId)).toBe(replyIdFor(longId));
    expect(replyIdFor(longId)).not.toBe(replyIdFor('y'.repeat(128)));
    expect(replyIdFor('x'.repeat(122))).toBe(`reply:${'x'.repeat(122)}`);
    expect(replyIdFor(longId).length).toBeLessThanOrEqual(REPLY_ID_CHARS_MAX);
  });

  it('truncates long echoes to the chat API limit without splitting an emoji', () => {
    const reply = buildReply({ ...valid, user: 'u'.repeat(128), text: '🎉'.repeat(2000) });
    expect(reply.text.length).toBeLessThanOrEqual(REPLY_TEXT_CHARS_MAX);
    expect(reply.text.endsWith('…')).toBe(true);
    expect(/[\uD800-\uDFFF]/u.test(reply.text)).toBe(false);
  });
});
