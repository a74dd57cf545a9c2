// Writes docs/dashboard-fault.png: the dashboard of `npm start` during its first fault phase
// (SpiceDB hangs), once SpiceDB's breaker is open, with clamd (a real one, started here) and
// YARA scanning the demo's traffic. Not a test: run it by hand when the page changes.
//   npx tsx --conditions=breakwater-source packages/gateway/scripts/screenshot.ts
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { launchBrowser } from '../../dashboard/test/browser-harness.js';
import { startClamd } from '../../scanbridge/test/clamd-process.js';
import { runDemo } from '../src/demo/run.js';

const OUT = join(import.meta.dirname, '..', 'docs', 'dashboard-fault.png');
const VIEWPORT = { width: 1280, height: 800 };
/** Long enough for the sparklines to show the traffic before the fault. */
const FIRST_FAULT_MS = 15_000;
const WITHIN_MS = 60_000;

let printed = '';
const out = new Writable({
  write(chunk: Buffer, _encoding, done) {
    printed += chunk.toString();
    process.stdout.write(chunk);
    done();
  },
});

const clamd = await startClamd({ streamMaxLength: '25M' });
const stop = new AbortController();
const demo = runDemo({
  host: '127.0.0.1',
  port: 0,
  traffic: true,
  durationSeconds: undefined,
  out,
  signal: stop.signal,
  phases: { firstFaultMs: FIRST_FAULT_MS, faultMs: 10_000 },
  clamd: [`127.0.0.1:${clamd.port}`],
});
const browser = await launchBrowser();
try {
  const url = await until(() => /dashboard\s+(http:\/\/\S+\/dashboard\/)/.exec(printed)?.[1]);
  const page = await (await browser.newContext({ viewport: VIEWPORT })).newPage();
  await page.goto(url);
  await page.waitForSelector(
    '[data-testid="breaker-row"][data-name="spicedb"][data-state="open"]',
    {
      timeout: FIRST_FAULT_MS + WITHIN_MS,
    },
  );
  // The rejections and the fallbacks' panel catch up with the state within a sample or two.
  await page.waitForTimeout(2_500);
  await mkdir(join(OUT, '..'), { recursive: true });
  await page.screenshot({ path: OUT });
  process.stdout.write(`\nwrote ${OUT}\n`);
} finally {
  await browser.close();
  stop.abort();
  await demo;
  await clamd.stop();
}

async function until<T>(read: () => T | undefined): Promise<T> {
  const giveUp = performance.now() + WITHIN_MS;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (performance.now() > giveUp)
      throw new Error(`the demo did not start within ${WITHIN_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
