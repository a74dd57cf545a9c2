#!/usr/bin/env node
import { describeFsError } from '../fs-error.js';
import { argvBytes } from './argv-bytes.js';
import { processOutput } from './process-output.js';
import { runCli } from './run.js';
import { fileOperationStuck } from './stuck-io.js';
import { EXIT } from './usage.js';

/** How long a file operation may still be pending after the report before it counts as stuck. */
const STUCK_AFTER_MS = 1_000;

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
if (await fileOperationStuck(STUCK_AFTER_MS)) {
  // Exit itself would hang: only a signal ends the process, and the status is the signal's.
  stderr.write(
    `scanbridge: a file operation is still stuck (a hung mount?) and Node cannot exit while one is; ending with SIGKILL, so the exit status is 137 (for exit ${exit})\n`,
  );
  await stderr.failure();
  process.kill(process.pid, 'SIGKILL');
}
// Exits rather than sets process.exitCode: whatever is left pending (an engine's socket, a
// request in flight) must not keep the process alive after its report.
process.exit(exit);
