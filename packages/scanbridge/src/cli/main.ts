#!/usr/bin/env node
import { describeFsError } from '../fs-error.js';
import { argvBytes } from './argv-bytes.js';
import { processOutput } from './process-output.js';
import { runCli } from './run.js';
import { EXIT } from './usage.js';

const stdout = processOutput(process.stdout);
const stderr = processOutput(process.stderr);

// Node's own exit status for a crash is 1, which reads as "flagged": a crash is an error.
process.on('uncaughtException', (error) => {
  stderr.write(`scanbridge: internal error: ${error.stack ?? error.message}\n`);
  process.exit(EXIT.error);
});

const args = process.argv.slice(2);
const code = await runCli(args, {
  stdout,
  stderr,
  env: process.env,
  argvBytes: argvBytes(args),
});
const failure = await stdout.failure();
let exit = code;
if (failure !== undefined && failure.code !== 'EPIPE') {
  stderr.write(`scanbridge: cannot write the report: ${describeFsError(failure)}\n`);
  exit = EXIT.error;
}
// A reader that went away (EPIPE: `scanbridge scan ... | head -1`) took what it wanted: the
// run's own code still says how the scan went.
await stderr.failure();
// Exits rather than sets process.exitCode: whatever is left pending (an engine's socket, a
// request in flight) must not keep the process alive after its report. (A thread of libuv's
// pool stuck in the kernel, on a hung mount, still holds it: Node joins them on exit.)
process.exit(exit);
