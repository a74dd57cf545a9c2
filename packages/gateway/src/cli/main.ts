#!/usr/bin/env node
import { processIo } from './io.js';
import { runCli } from './run.js';

const io = processIo();
const code = await runCli(process.argv.slice(2), io);
// Exits rather than waits: a handle something left open must not keep a stopped gateway alive.
// The empty writes call back once everything written before them is out.
await Promise.all([io.stdout, io.stderr].map((s) => new Promise((done) => s.write('', done))));
process.exit(code);
