import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSIONS } from '../src/clamav/clamav-scanner.js';
import { clamdCommand } from '../src/clamav/clamd-client.js';
import { useClamd } from './clamd.js';
import { stopChild } from './clamd-process.js';

const clamd = useClamd();

describe('the clamd test harness', () => {
  it('kills a child that ignores SIGTERM once the grace is over, so no process outlives the tests', async () => {
    const child = spawn(
      process.execPath,
      ['-e', "process.on('SIGTERM',()=>{});console.log('ready');setInterval(()=>{},1000)"],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    await new Promise((resolve) => child.stdout?.once('data', resolve));
    const startedAt = Date.now();
    await stopChild(child, 30);
    expect(child.signalCode).toBe('SIGKILL');
    expect(Date.now() - startedAt).toBeLessThan(30 + 1_000);
  });

  it('lets a child that exits on SIGTERM exit by itself', async () => {
    const child = spawn(process.execPath, ['-e', "console.log('ready');setInterval(()=>{},1000)"], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise((resolve) => child.stdout?.once('data', resolve));
    await stopChild(child, 5_000);
    expect(child.signalCode).toBe('SIGTERM');
  });

  it("runs clamd with at least as many threads as the scanner's default sessions", async () => {
    const stats = await clamdCommand({
      endpoint: { host: '127.0.0.1', port: clamd().port },
      command: 'STATS',
      chunkSize: 1,
      connectTimeoutMs: 1_000,
      timeoutMs: 2_000,
      engine: 'harness',
    });
    const threads = Number(/THREADS: .*\bmax (\d+)/.exec(stats)?.[1]);
    expect(threads).toBeGreaterThanOrEqual(DEFAULT_SESSIONS);
  });
});
