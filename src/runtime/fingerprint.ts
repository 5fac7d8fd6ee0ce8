import { createHash } from 'node:crypto';

/** Length of a token fingerprint, in hex characters. */
export const FINGERPRINT_LENGTH_CHARS = 10;

/**
 * A short, one-way fingerprint of a token (first hex characters of its SHA-256), the only form
 * in which tokens may appear in logs, events, errors and reports.
 *
 * @example
 * ```ts
 * fingerprint('secret-token'); // e.g. 'fp:3a7bd3e236'
 * ```
 */
export function fingerprint(token: string): string {
  return `fp:${createHash('sha256').update(token).digest('hex').slice(0, FINGERPRINT_LENGTH_CHARS)}`;
}
