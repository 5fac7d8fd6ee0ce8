/**
 * Durations, times and the status view, without DynamoDB.
 */
import { describe, expect, it } from 'vitest';
import { formatDuration, formatStatusText, formatTime, relative, statusView } from '../../src/cli/format.js';
import { fingerprint } from '../../src/runtime/fingerprint.js';

const WHERE = { tableName: 'tokens', partitionKey: 'pk', key: 'chat', location: 'region eu-west-1' };
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('formatDuration / formatTime / relative', () => {
  it('uses the two most significant units', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(192_000)).toBe('3m 12s');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000 + 59_000)).toBe('2h 5m');
    expect(formatDuration(27 * 3_600_000)).toBe('1d 3h');
    expect(formatDuration(-5)).toBe('0ms');
  });

  it('prints UTC times without milliseconds, and relative times both ways', () => {
    expect(formatTime(0)).toBe('1970-01-01T00:00:00Z');
    expect(formatTime(NOW + 999)).toBe('2025-01-01T12:00:00Z');
    expect(formatTime(Number.MAX_SAFE_INTEGER)).toBe(`${Number.MAX_SAFE_INTEGER} (epoch ms)`);
    expect(relative(NOW - 61_000, NOW)).toBe('1m 1s ago');
    expect(relative(NOW + 5_000, NOW)).toBe('in 5s');
    expect(relative(NOW, NOW)).toBe('0ms ago');
  });
});

describe('statusView', () => {
  it('expired token, stale lease without holder, an unavailable-issuer pause', () => {
    const view = statusView(
      {
        schemaVersion: 1,
        revision: 9,
        generation: 4,
        token: 'the-token-itself',
        tokenIssuedAtMs: NOW - 7_200_000,
        tokenExpiresAtMs: NOW - 1,
        leaseId: 'i-1.abc#3',
        leaseExpiresAtMs: NOW - 1_000,
        failureCode: 'ISSUER_UNAVAILABLE',
        failureCount: 2,
        backoffUntilMs: NOW + 2_000,
        invalidatedGeneration: 3,
      },
      WHERE,
      NOW,
    );
    expect(view).toMatchObject({
      found: true,
      token: { fingerprint: fingerprint('the-token-itself'), expired: true, invalidated: false, ageMs: 7_200_000, expiresInMs: -1 },
      lease: { id: 'i-1.abc#3', holder: null, acquiredAtMs: null, ageMs: null, looksStale: true },
      failure: { code: 'ISSUER_UNAVAILABLE', status: null, count: 2, atMs: null, backoffRemainingMs: 2_000 },
      invalidatedGeneration: 3,
      notes: [
        'the token has expired: the next instance that needs one refreshes it',
        'the lease of an unnamed instance looks stale (its holder probably crashed or froze): the next instance that needs a token takes it over',
        'issuer calls are paused for 2s after ISSUER_UNAVAILABLE: callers that need a new token get IssuerUnavailableError until then',
      ],
    });
    const text = formatStatusText(view);
    expect(text).not.toContain('the-token-itself');
    expect(text).toContain('expires       2025-01-01T11:59:59Z (1ms ago) — EXPIRED');
    expect(text).toContain('invalidated     generation 3 (not the current one)');
    expect(text).toContain('lease           held by (no holder recorded) (lease id i-1.abc#3)');
    expect(text).toContain('acquired      unknown');
    expect(text).toContain('last failure    ISSUER_UNAVAILABLE, 2 in a row, unknown');
    expect(text).toContain('back-off      2s remaining (until 2025-01-01T12:00:02Z)');
  });

  it('a lease ending exactly within the skew allowance is not stale yet; no expiry stated', () => {
    const view = statusView({ schemaVersion: 1, revision: 2, generation: 1, token: 't', leaseId: 'l', leaseExpiresAtMs: NOW - 999 }, WHERE, NOW);
    expect(view.found && view.lease?.looksStale).toBe(false);
    expect(view.found && view.token?.expired).toBe(false);
    expect(formatStatusText(view)).toContain('expires       not stated by the issuer');
  });

  it('a missing item', () => {
    const view = statusView(undefined, WHERE, NOW);
    expect(view).toEqual({ ...WHERE, nowMs: NOW, found: false });
    expect(formatStatusText(view)).toBe('DynamoDB table "tokens" (pk="chat") at region eu-west-1: no such item\n');
  });
});
