import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const CHILD = new URL('./soak-child.ts', import.meta.url).pathname;

describe('soak', () => {
  it('2,000,000 calls across hundreds of open/close cycles leave the heap flat', () => {
    const output = execFileSync(
      process.execPath,
      ['--expose-gc', '--conditions=breakwater-source', '--import', 'tsx', CHILD, '2000000'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    const { calls, opened, closed, samples } = JSON.parse(output) as {
      calls: number;
      opened: number;
      closed: number;
      samples: number[];
    };
    expect(calls).toBe(2_000_000);
    expect(opened).toBeGreaterThan(40);
    expect(closed).toBeGreaterThan(40);
    expect(samples).toHaveLength(10);
    // From the second sample (code warmed up) to the last: a generous bound, since a leak of
    // even 8 bytes a call would be 14 MB here. The figure itself is in `npm run bench`.
    const growth = (samples.at(-1) as number) - (samples[1] as number);
    expect(growth).toBeLessThan(1024 * 1024);
  }, 120_000);
});
