import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { ScanError } from './errors.js';
import { FileInput } from './input.js';
import { ScanManager } from './manager.js';
import type { Scanner } from './scanner.js';
import { engineTimeout, withTimeout } from './timeout.js';

const never = () => new Promise<never>(() => {});

describe('withTimeout', () => {
  it('rejects with the caller reason as soon as the caller aborts, even if the work ignores it', async () => {
    const clock = new ManualClock(0);
    const parent = new AbortController();
    let seen: AbortSignal | undefined;
    const running = withTimeout(clock, 60_000, parent.signal, engineTimeout('deaf'), (signal) => {
      seen = signal;
      return never();
    });
    const reason = new Error('user cancelled');
    parent.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(seen?.aborted).toBe(true);
  });

  it('rejects with the timeout when the time runs out, even if the work ignores its signal', async () => {
    const clock = new ManualClock(0);
    const running = withTimeout(clock, 100, undefined, engineTimeout('deaf'), never);
    clock.advance(100);
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScanError);
    expect((error as ScanError).message).toBe('deaf: scan timed out after 100 ms');
  });
});

describe('ScanManager cancelled', () => {
  it('rejects with cancelled at once, while a plain engine ignores its signal', async () => {
    const deaf: Scanner = { name: 'deaf', healthCheck: async () => {}, scan: never };
    const manager = ScanManager.builder()
      .addScanner(deaf)
      .withConfig({ scanTimeoutMs: 60_000, clock: new ManualClock(0) })
      .build();
    const caller = new AbortController();
    const scanning = manager.scan(FileInput.fromBytes(new Uint8Array([1])), {}, caller);
    await new Promise((resolve) => setImmediate(resolve));
    caller.abort(new Error('user cancelled'));
    const error = await scanning.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScanError);
    expect((error as ScanError).kind).toBe('cancelled');
  });
});
