// Run by clamd-pool.test.ts under a low `ulimit -n`: `count` scans of one small file, all
// started at once. Prints how many ended each way.
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { FileInput } from '../src/input.js';

const [port, path, count, maxSessions] = process.argv.slice(2);
const scanner = new ClamAvScanner({ port: Number(port), maxSessions: Number(maxSessions) });
const ends = await Promise.all(
  Array.from({ length: Number(count) }, () =>
    scanner.scan(FileInput.fromPath(String(path))).then(
      (result) => result.outcome.type,
      (error: { kind: string }) => error.kind,
    ),
  ),
);
const counts: Record<string, number> = {};
for (const end of ends) counts[end] = (counts[end] ?? 0) + 1;
process.stdout.write(`${JSON.stringify(counts)}\n`);
await scanner.close();
