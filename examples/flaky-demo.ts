// `npm run demo --workspace examples`: drives a flaky dependency through a circuit breaker for a few seconds,
// printing every state change, then the breaker's metrics.
import { CircuitBreaker, CircuitOpenError } from '@breakwater/core';
import { FlakyDependency } from './flaky-dependency.js';

const RUN_MS = 4_000;
const CALL_EVERY_MS = 40;

const inventory = new FlakyDependency({ from: 1_000, to: 2_200 });
const breaker = new CircuitBreaker<{ sku: string; stock: number }>({
  name: 'inventory',
  failureThreshold: 3,
  successThreshold: 2,
  timeout: 150,
  // Back off while the dependency stays down: 300 ms, 600 ms, 1.2 s ...
  openDuration: ({ attempt }) => Math.min(300 * 2 ** (attempt - 1), 2_000),
  jitter: 50,
});

const started = Date.now();
const stamp = () => `${String(Date.now() - started).padStart(5)} ms`;
const tally = { ok: 0, failed: 0, rejected: 0 };

breaker.on('stateChange', ({ from, to, reason }) => {
  console.log(`${stamp()}  ${from.padEnd(9)} -> ${to.padEnd(9)} (${reason})`);
});
breaker.on('open', ({ until, attempt }) => {
  console.log(`${stamp()}  open for ${Math.round(until - Date.now())} ms (attempt ${attempt})`);
});

console.log(`Calling the inventory service every ${CALL_EVERY_MS} ms for ${RUN_MS / 1000} s;`);
console.log('it hangs from 0.7 s and refuses connections from 1.0 s to 2.2 s.\n');

let sku = 0;
while (Date.now() - started < RUN_MS) {
  const call = breaker.execute((signal) => inventory.lookup(`SKU-${++sku}`, signal));
  call.then(
    () => tally.ok++,
    (error: unknown) => (error instanceof CircuitOpenError ? tally.rejected++ : tally.failed++),
  );
  await new Promise((resolve) => setTimeout(resolve, CALL_EVERY_MS));
}
await new Promise((resolve) => setTimeout(resolve, 200));

console.log(
  `\nCallers saw: ${tally.ok} answers, ${tally.failed} errors, ${tally.rejected} fast rejections.`,
);
console.log('Breaker state:', breaker.state());
console.log('Breaker metrics:', breaker.metrics());
breaker.dispose();
