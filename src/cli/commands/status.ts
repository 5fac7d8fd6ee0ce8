/**
 * `baton status`: reads the item (consistent) and shows it, without ever showing the token.
 */
import { DynamoDBTokenStore } from '../../runtime/dynamodb-store.js';
import { EXIT_CODES } from '../args.js';
import type { ExitCode } from '../args.js';
import type { CommandContext } from '../context.js';
import { formatStatusText, statusView } from '../format.js';

/**
 * Runs `baton status`.
 *
 * @example
 * ```ts
 * const exitCode = await runStatus(context, { key: 'chat-bot', json: true }); // 3 if there is no item
 * ```
 */
export async function runStatus(context: CommandContext, options: { readonly key: string; readonly json: boolean }): Promise<ExitCode> {
  const { target } = context;
  const store = new DynamoDBTokenStore({ client: context.client, tableName: target.tableName, key: options.key, partitionKey: target.partitionKey });
  const record = await store.read({ consistent: true });
  const view = statusView(
    record,
    { tableName: target.tableName, partitionKey: target.partitionKey, key: options.key, location: context.location.text },
    context.now(),
  );
  if (options.json) context.stdout.write(`${JSON.stringify(view)}\n`);
  if (!view.found) {
    context.stderr.write(
      `baton status: no item with ${target.partitionKey}=${JSON.stringify(options.key)} in DynamoDB table ${JSON.stringify(target.tableName)} at ${context.location.text}.\n` +
        'Either no instance has needed a token under this key yet (the first one creates the item), or --key / --partition-key\n' +
        "differ from the Lambda's BATON_KEY / BATON_PARTITION_KEY.\n",
    );
    return EXIT_CODES.notFound;
  }
  if (!options.json) context.stdout.write(formatStatusText(view));
  return EXIT_CODES.ok;
}
