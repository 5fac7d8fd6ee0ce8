/**
 * `baton init`: creates the token table (on-demand billing, one string partition key) and waits
 * until it is ACTIVE. Idempotent: an existing table with the right key schema is accepted.
 */
import { createTokenTable } from '../../runtime/table.js';
import { EXIT_CODES } from '../args.js';
import type { ExitCode } from '../args.js';
import type { CommandContext } from '../context.js';

/**
 * Runs `baton init`.
 *
 * @example
 * ```ts
 * const exitCode = await runInit(context); // 0 whether it created the table or found it
 * ```
 */
export async function runInit(context: CommandContext): Promise<ExitCode> {
  const { tableName, partitionKey } = context.target;
  const table = `table ${JSON.stringify(tableName)} (partition key ${JSON.stringify(partitionKey)}) at ${context.location.text}`;
  context.stderr.write(`baton init: creating ${table} unless it exists, then waiting until it is ACTIVE (up to about a minute)\n`);
  const result = await createTokenTable({ client: context.client, tableName, partitionKey });
  context.stdout.write(
    result.created
      ? `created ${table}: on-demand billing, ACTIVE\n`
      : `${table} already exists with the right key schema and is ACTIVE; nothing to do\n`,
  );
  const partitionKeyEnv = partitionKey === 'pk' ? '' : ` and BATON_PARTITION_KEY=${partitionKey}`;
  context.stdout.write(
    `next: give the Lambda role dynamodb:GetItem and dynamodb:UpdateItem on this table, and set BATON_TABLE=${tableName}${partitionKeyEnv}\n`,
  );
  return EXIT_CODES.ok;
}
