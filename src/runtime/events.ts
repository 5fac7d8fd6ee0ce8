import type { WriteIntent } from '../machine/record.js';

/**
 * Structured protocol events, for metrics, tracing and timelines. Every event names the
 * instance and carries `atMs` from the coordinator's clock. Tokens appear only as
 * fingerprints (see `fingerprint`), never in clear.
 *
 * - `fenced`: a holder write (`publish`, `renew`, `release` or `record-failure`, in `intent`) was
 *   refused because another instance had taken the lease over.
 * - `alarm`: `code` is `FRESH_TOKEN_REJECTED` (a token published moments ago was rejected: another
 *   client may use the same credentials) or `CLOCK_SKEW` (a lease looked expired by this
 *   instance's clock while its holder was still at work: this clock is probably more than
 *   `maxClockSkewMs` ahead). Messages name lease ids and holders, never tokens.
 *
 * @example
 * ```ts
 * const onEvent = (event: BatonEvent) => {
 *   if (event.type === 'alarm' && event.code === 'CLOCK_SKEW') metrics.increment('baton.clock_skew');
 * };
 * ```
 */
export type BatonEvent =
  | { readonly type: 'state'; readonly instanceId: string; readonly atMs: number; readonly from: string; readonly to: string }
  | { readonly type: 'store-read'; readonly instanceId: string; readonly atMs: number; readonly found: boolean; readonly generation: number | undefined }
  | {
      readonly type: 'store-write';
      readonly instanceId: string;
      readonly atMs: number;
      readonly intent: WriteIntent;
      readonly outcome: 'applied' | 'condition-failed' | 'ambiguous';
    }
  | { readonly type: 'issuer-call'; readonly instanceId: string; readonly atMs: number; readonly outcome: 'issued' | 'refused' | 'unknown' }
  | { readonly type: 'token-published'; readonly instanceId: string; readonly atMs: number; readonly generation: number; readonly fingerprint: string }
  | { readonly type: 'token-adopted'; readonly instanceId: string; readonly atMs: number; readonly generation: number; readonly fingerprint: string }
  | { readonly type: 'token-used'; readonly instanceId: string; readonly atMs: number; readonly generation: number; readonly fingerprint: string }
  | { readonly type: 'token-rejected'; readonly instanceId: string; readonly atMs: number; readonly generation: number; readonly fingerprint: string }
  | { readonly type: 'fenced'; readonly instanceId: string; readonly atMs: number; readonly intent: WriteIntent }
  | { readonly type: 'takeover'; readonly instanceId: string; readonly atMs: number; readonly staleLeaseHolder: string | undefined }
  | { readonly type: 'alarm'; readonly instanceId: string; readonly atMs: number; readonly code: string; readonly message: string };

/** The `type` of a {@link BatonEvent}. */
export type BatonEventType = BatonEvent['type'];
