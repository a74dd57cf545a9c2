// `npm run bench`: the full benchmark. Markdown to stdout, JSON to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { gatewayCases } from './gateway.js';
import { FULL, runBench } from './harness.js';
import { metricsCases } from './metrics.js';
import { markdown, targets } from './report.js';

const started = Date.now();
// `npm run bench -- --scan` runs case 9 (scanning through clamd) alone, `-- --authz` case 10
// (permission checks through SpiceDB), `-- --metrics` case 11 (what @breakwater/prometheus costs),
// `-- --gateway` case 12 (uploads through the gateway against its ScanManager in-process).
const selection = process.argv.includes('--scan')
  ? 'scan'
  : process.argv.includes('--authz')
    ? 'authz'
    : process.argv.includes('--metrics')
      ? 'metrics'
      : process.argv.includes('--gateway')
        ? 'gateway'
        : 'all';
const log = (line: string) => process.stderr.write(`${line}\n`);
const cases = [
  ...(selection === 'metrics' || selection === 'gateway'
    ? []
    : await runBench(FULL, log, selection)),
  ...(selection === 'metrics' || selection === 'all' ? await metricsCases(FULL, log) : []),
  ...(selection === 'gateway' || selection === 'all' ? await gatewayCases(FULL.rounds, log) : []),
];
const checks = targets(cases, FULL.memoryBreakers);
const machine = `${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, Node ${process.version}`;
const header = `## Benchmark: ${new Date(started).toISOString()}, ${machine}, ${FULL.rounds} rounds, ${((Date.now() - started) / 1000).toFixed(0)} s`;
process.stdout.write(`${markdown(cases, checks, header)}\n`);

const dir = new URL('./results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const file = new URL(`bench-${new Date(started).toISOString().replace(/[:.]/g, '-')}.json`, dir);
writeFileSync(
  file,
  `${JSON.stringify({ startedAt: started, machine, options: FULL, cases, targets: checks }, null, 2)}\n`,
);
process.stderr.write(`results written to ${file.pathname}\n`);
const missed = checks.filter((t) => !t.met);
if (missed.length > 0)
  process.stderr.write(`targets missed: ${missed.map((t) => t.description).join('; ')}\n`);
