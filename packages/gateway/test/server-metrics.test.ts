import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { EmbeddedSpiceDb } from '@breakwater/authz/embedded';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, startTestSpiceDb } from './support/gateway-harness.js';

let spicedb: EmbeddedSpiceDb;

beforeAll(async () => {
  spicedb = await startTestSpiceDb();
}, 60_000);

afterAll(async () => {
  await spicedb?.close();
});

/** A full collection, from a context of its own so the flag needs no command line. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('the metrics of gateways that come and go', () => {
  it("each serves the process's metrics, and none is kept once closed", async () => {
    const registers: WeakRef<object>[] = [];
    // In a function of its own: a suspended async function's frame may keep its last values.
    for (let i = 0; i < 3; i++) registers.push(await scrapeAndClose());
    await expect
      .poll(
        () => {
          collectGarbage();
          return registers.filter((ref) => ref.deref() !== undefined).length;
        },
        { timeout: 5_000, interval: 100 },
      )
      .toBe(0);
  }, 60_000);
});

/** Starts a gateway, checks its /metrics, closes it: a weak reference to its register. */
async function scrapeAndClose(): Promise<WeakRef<object>> {
  const t = await startTestGateway({ spicedb });
  try {
    const metrics = t.gateway.metrics;
    if (metrics === undefined) throw new Error('metrics are enabled by default');
    const text = await (await t.fetch('/metrics', undefined)).text();
    for (const name of [
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_gc_duration_seconds',
      'breakwater_circuit_state',
    ])
      expect(text, name).toContain(`# TYPE ${name} `);
    return new WeakRef(metrics);
  } finally {
    await t.close();
  }
}
