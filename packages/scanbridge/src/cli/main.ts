#!/usr/bin/env node
import { argvBytes } from './argv-bytes.js';
import { processOutput } from './process-output.js';
import { runCli } from './run.js';

const args = process.argv.slice(2);
process.exitCode = await runCli(args, {
  stdout: processOutput(process.stdout),
  stderr: processOutput(process.stderr),
  env: process.env,
  argvBytes: argvBytes(args),
});
