/**
 * The deployable Lambda entry point (set the function's handler to `lambda/entry.handler` in the
 * bundle). Everything happens at module scope, once per Lambda instance: a bad configuration
 * fails the cold start with a `BotConfigError` listing every variable to fix, and the
 * coordinator (with its cached token) is shared by every warm invocation of the instance.
 *
 * Import `dynamo-baton/lambda` instead to build a handler yourself: that module has no side
 * effects.
 */
import { loadBotConfig } from './config.js';
import { createHandler } from './handler.js';
import type { BotHandler } from './handler.js';

/**
 * The Lambda handler, configured from `process.env`.
 *
 * @throws `BotConfigError` at import time when the environment is invalid.
 * @example
 * ```ts
 * // AWS SAM template.yaml:  Handler: dist/lambda/entry.handler
 * const result = await handler(event, context); // { statusCode: 200, headers, body: '{"status":"sent",…}' }
 * ```
 */
export const handler: BotHandler = createHandler(loadBotConfig(process.env));
