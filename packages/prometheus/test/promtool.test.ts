import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { drivenStack } from './driven-stack.js';

const PROMTOOL = '/usr/bin/promtool';

describe('promtool check metrics', () => {
  const register = new Registry();
  let stack: Awaited<ReturnType<typeof drivenStack>> | undefined;
  afterAll(() => stack?.close());

  it('passes on the full output of all three collectors together', async () => {
    expect(existsSync(PROMTOOL), `${PROMTOOL} is missing: apt-get install prometheus`).toBe(true);
    stack = await drivenStack(register);
    const exposition = await register.metrics();
    // Every family is there, with samples: a check of an empty text would prove nothing.
    for (const name of [
      'breakwater_circuit_state',
      'breakwater_calls_total',
      'breakwater_state_transitions_total',
      'breakwater_failure_rate',
      'breakwater_health_status',
      'breakwater_call_duration_seconds_bucket',
      'authorization_check_total',
      'authorization_check_duration_seconds_count',
      'authorization_cache_entries',
      'authorization_fallback_total',
      'scanbridge_scans_total',
      'scanbridge_scan_duration_seconds_sum',
      'scanbridge_decisions_total',
      'scanbridge_bytes_scanned_total',
    ])
      expect(exposition).toMatch(new RegExp(`^${name}(\\{.*\\})? \\d`, 'm'));
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], {
      input: exposition,
      encoding: 'utf8',
    });
    expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({
      status: 0,
      output: '',
    });
  });
});
