import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stopChild } from './clamd-process.js';

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
});
