// A host process for the YaraScanner process tests: scans once (so its scanning process runs),
// says so on stdout, then either ends by itself (`exit`: nothing closes the scanner), closes
// the scanner and says so (`close`), waits to be killed (`wait`), or starts a scan of many
// seconds, the file given as argv[3], and waits to be killed (`busy`).
import { FileInput } from '../src/input.js';
import { YaraScanner } from '../src/yara/yara-scanner.js';

const mode = process.argv[2];
// Slow makes a file of `a` slow to scan (yara-children.ts SLOW_RULE, which this plain process
// cannot import: that module needs vitest).
const scanner = new YaraScanner({
  rules: `rule Marker { strings: $m = "marker-42" condition: $m }
    rule Slow { strings: $slow = /a[^b]{0,60}c/ condition: $slow }`,
});
const result = await scanner.scan(FileInput.fromBytes(Buffer.from('a marker-42')));
process.stdout.write(`scanned ${result.outcome.type}\n`);
if (mode === 'wait' || mode === 'busy') setInterval(() => {}, 60_000);
if (mode === 'busy') {
  void scanner.scan(FileInput.fromPath(process.argv[3] ?? '')).catch(() => {});
}
if (mode === 'close') {
  await scanner.close();
  process.stdout.write('closed\n');
}
