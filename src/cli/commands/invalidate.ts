/**
 * `baton invalidate`: marks the stored generation as invalidated, so that instances reading the
 * item refresh (once, fleet-wide) instead of adopting its token. One conditional write through
 * the store, conditioned on the generation just read: safe while instances are live.
 */
import type { WriteRequest } from '../../machine/record.js';
import { DynamoDBTokenStore } from '../../runtime/dynamodb-store.js';
import { fingerprint } from '../../runtime/fingerprint.js';
import { EXIT_CODES, commandLine } from '../args.js';
import type { ExitCode } from '../args.js';
import type { CommandContext } from '../context.js';

/**
 * Runs `baton invalidate`.
 *
 * @example
 * ```ts
 * const exitCode = await runInvalidate(context, { key: 'chat-bot' }); // 4 if a new token was published meanwhile
 * ```
 */
export async function runInvalidate(context: CommandContext, options: { readonly key: string }): Promise<ExitCode> {
  const { target } = context;
  const store = new DynamoDBTokenStore({ client: context.client, tableName: target.tableName, key: options.key, partitionKey: target.partitionKey });
  const item = `DynamoDB table ${JSON.stringify(target.tableName)} (${target.partitionKey}=${JSON.stringify(options.key)}) at ${context.location.text}`;
  const record = await store.read({ consistent: true });
  if (record === undefined) {
    context.stderr.write(
      `baton invalidate: no item in ${item}: there is no token to invalidate under this key ` +
        "(check --key / --partition-key against the Lambda's BATON_KEY / BATON_PARTITION_KEY)\n",
    );
    return EXIT_CODES.notFound;
  }
  const { generation } = record;
  if (record.token === undefined) {
    context.stdout.write(`no token has been published in ${item} (generation ${generation}); nothing to invalidate\n`);
    return EXIT_CODES.ok;
  }
  const tokenText = `generation ${generation} (token ${fingerprint(record.token)})`;
  if (record.invalidatedGeneration === generation) {
    context.stdout.write(`${tokenText} in ${item} is already invalidated; nothing written\n`);
    return EXIT_CODES.ok;
  }
  const request: WriteRequest = {
    intent: 'invalidate',
    condition: { exists: true, generation },
    set: { invalidatedGeneration: generation },
    remove: [],
  };
  const outcome = await store.write(request);
  if (outcome.applied) {
    context.stdout.write(
      `invalidated ${tokenText} in ${item}\n` +
        'Instances that read the item from now on make one refresh for the fleet instead of adopting this token;\n' +
        'instances that have it cached keep using it until the chat API rejects it.\n',
    );
    return EXIT_CODES.ok;
  }
  const current = outcome.current;
  if (current === undefined) {
    context.stderr.write(`baton invalidate: the item in ${item} was deleted after it was read; nothing invalidated\n`);
    return EXIT_CODES.notFound;
  }
  const now = current.token === undefined ? `generation ${current.generation}` : `generation ${current.generation} (token ${fingerprint(current.token)})`;
  context.stderr.write(
    current.generation !== generation
      ? `baton invalidate: not invalidated: a new token was published after the item was read (${tokenText} -> ${now}); ` +
          'someone already refreshed it.\n' +
          `If the new token is bad too, run again: ${commandLine('invalidate', target, options.key)}\n`
      : `baton invalidate: not invalidated: the item changed after it was read (now ${now}, revision ${current.revision}); ` +
          `run again: ${commandLine('invalidate', target, options.key)}\n`,
  );
  return EXIT_CODES.changed;
}
