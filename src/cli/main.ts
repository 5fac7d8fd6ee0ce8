#!/usr/bin/env node
/**
 * The `baton` executable (package.json `bin`). Everything lives in `runCli`; this only wires it
 * to the process. The exit code is set, not forced, so that output is flushed first.
 */
import { runCli } from './run.js';

// The SDK's notice about its future Node requirement is not actionable for an operator command.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
