/**
 * `npm run verify [-- flags]`: the exhaustive explorer from the command line (see `cli.ts` for
 * the flags and exit codes).
 */
import { runCli } from './cli.js';

process.exitCode = runCli(process.argv.slice(2));
