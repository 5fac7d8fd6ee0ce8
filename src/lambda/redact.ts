/**
 * Last line of defence before text leaves the function (log lines, response bodies): replaces
 * the secret and every token seen during the invocation. Baton's own messages never contain
 * them, but an unknown error from a dependency might (a URL, a request dump).
 */
import { fingerprint } from '../runtime/fingerprint.js';

/** What the secret is replaced with. */
export const REDACTED_SECRET = '[redacted-secret]';

/**
 * Collects the sensitive strings of one invocation and scrubs text of them.
 *
 * @example
 * ```ts
 * const redactor = new Redactor(config.chatAuthSecret);
 * redactor.addToken(token);
 * logger.info(redactor.scrub(JSON.stringify(line)));
 * ```
 */
export class Redactor {
  readonly #secret: string;
  readonly #tokens = new Set<string>();

  constructor(secret: string) {
    this.#secret = secret;
  }

  /** Remembers a token so that {@link Redactor.scrub} replaces it with its fingerprint. */
  addToken(token: string): void {
    if (token !== '') this.#tokens.add(token);
  }

  /** `text` without the secret or any remembered token (tokens become their fingerprint). */
  scrub(text: string): string {
    let scrubbed = text;
    for (const token of this.#tokens) scrubbed = replaceEscaped(scrubbed, token, fingerprint(token));
    if (this.#secret !== '') scrubbed = replaceEscaped(scrubbed, this.#secret, REDACTED_SECRET);
    return scrubbed;
  }
}

/**
 * Replaces `needle` both raw and as it appears inside a JSON string (escaped quotes, backslashes,
 * control characters), since the text being scrubbed is usually serialized JSON.
 */
function replaceEscaped(text: string, needle: string, replacement: string): string {
  const escaped = JSON.stringify(needle).slice(1, -1);
  const once = text.replaceAll(needle, replacement);
  return escaped === needle ? once : once.replaceAll(escaped, replacement);
}
