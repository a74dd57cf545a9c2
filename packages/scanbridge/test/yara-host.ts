// A host process for the YaraScanner process tests: scans once (so its scanning process runs),
// says so on stdout, then either ends by itself (`exit`: nothing closes the scanner), closes
// the scanner and says so (`close`), or waits to be killed (`wait`).
import { FileInput } from '../src/input.js';
import { YaraScanner } from '../src/yara/yara-scanner.js';

const mode = process.argv[2];
const scanner = new YaraScanner({
  rules: 'rule Marker { strings: $m = "marker-42" condition: $m }',
});
const result = await scanner.scan(FileInput.fromBytes(Buffer.from('a marker-42')));
process.stdout.write(`scanned ${result.outcome.type}\n`);
if (mode === 'wait') setInterval(() => {}, 60_000);
if (mode === 'close') {
  await scanner.close();
  process.stdout.write('closed\n');
}
