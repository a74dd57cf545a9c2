// The soak: `calls` calls through one breaker that opens and closes over and over, with the
// heap sampled (after two full GCs) every tenth of the way. Prints { calls, opened, closed,
// samples } as JSON. Run with --expose-gc; `npm test` and `npm run bench` both run it.
import { CircuitBreaker, ManualClock } from '@breakwater/core';

const calls = Number(process.argv[2] ?? 2_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || !Number.isInteger(calls) || calls < 10_000) {
  throw new Error('usage: node --expose-gc soak-child.ts <calls >= 10000>');
}
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const clock = new ManualClock(0);
const breaker = new CircuitBreaker({
  failureThreshold: 5,
  openDuration: 100,
  successThreshold: 2,
  halfOpenMaxProbes: 2,
  clock,
});
const failure = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const ok = async () => 1;
const fail = async () => {
  throw failure;
};
const noop = () => {};

const BATCH = 1_000;
const samples: number[] = [];
let done = 0;
// Healthy for a stretch, then failing for one: the breaker opens, rejects, probes and closes.
while (done < calls) {
  const failing = Math.floor(done / 20_000) % 2 === 1;
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < BATCH; i++) {
    const op = failing && i % 10 !== 0 ? fail : ok;
    // Every tenth call carries its own signal, so the tracked path is soaked too.
    const signal = i % 10 === 5 ? new AbortController().signal : undefined;
    batch.push(breaker.execute(op, signal).catch(noop));
  }
  await Promise.all(batch);
  done += BATCH;
  clock.advance(60);
  if (done % (calls / 10) === 0) samples.push(heap());
}
const { timesOpened, timesClosed, totalRequests } = breaker.metrics();
process.stdout.write(
  `${JSON.stringify({ calls: totalRequests, opened: timesOpened, closed: timesClosed, samples })}\n`,
);
