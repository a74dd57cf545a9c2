import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runTypeScript } from '../scripts/run-typescript.js';

it('the npm start demo walks the breaker through open, half-open and closed, then exits by itself', () => {
  const demo = fileURLToPath(new URL('./flaky-demo.ts', import.meta.url));
  const run = runTypeScript(demo, 30_000);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/closed\s+-> open\s+\(failure_threshold\)/);
  expect(run.stdout).toMatch(/open\s+-> half_open\s+\(open_elapsed\)/);
  expect(run.stdout).toMatch(/half_open -> open\s+\(probe_failed\)/);
  expect(run.stdout).toMatch(/half_open -> closed\s+\(probes_succeeded\)/);
  expect(run.stdout).toMatch(/Breaker state: \{ name: 'closed', failureCount: 0 \}/);
  const metrics = /timesOpened: (\d+)/.exec(run.stdout);
  expect(Number(metrics?.[1])).toBeGreaterThanOrEqual(2);
  expect(run.stdout).toMatch(/timeouts: [1-9]/);
}, 40_000);
