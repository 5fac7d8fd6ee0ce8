import type { WriteIntent } from '../machine/record.js';

/**
 * Structured protocol events, for metrics, tracing and timelines. Every event names the
 * instance and carries `atMs` from the coordinator's clock. Tokens appear only as
 * fingerprints (see `fingerprint`), never in clear.
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
