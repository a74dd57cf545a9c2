#!/usr/bin/env node
import { processOutput } from './process-output.js';
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: processOutput(process.stdout),
  stderr: processOutput(process.stderr),
  env: process.env,
});
