// Run by clamd-session.test.ts in a process of its own: one scan through a pooled session,
// never closed. The process must still exit on its own once the verdict is in.
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { FileInput } from '../src/input.js';

const scanner = new ClamAvScanner({ port: Number(process.argv[2]), sessionIdleMs: 600_000 });
const result = await scanner.scan(FileInput.fromBytes(new TextEncoder().encode('a note')));
process.stdout.write(`${result.outcome.type}\n`);
