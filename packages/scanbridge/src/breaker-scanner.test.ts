import { FallbackBehavior as CoreFallback, ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { bytes, countingStream } from '../test/helpers.js';
import { FallbackBehavior, withCircuitBreaker } from './breaker-scanner.js';
import { ScanError } from './errors.js';
import { FileInput } from './input.js';
import { MockScanner } from './mock-scanner.js';

const file = () => FileInput.fromBytes(bytes('data'), 'data.txt');
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('withCircuitBreaker', () => {
  it('times a scan out inside the breaker, so the breaker counts it', async () => {
    const clock = new ManualClock(0);
    const slow = MockScanner.clean().withName('slow').withLatency(5_000).withClock(clock);
    const protectedScanner = withCircuitBreaker(slow, { failureThreshold: 1, clock });
    const scan = protectedScanner.scan(file(), { timeoutMs: 1_000 });
    await tick();
    clock.advance(1_000);
    await expect(scan).rejects.toMatchObject({
      kind: 'timeout',
      engine: 'slow',
      message: 'slow: scan timed out after 1000 ms',
    });
    expect(protectedScanner.breaker.state().name).toBe('open');
    expect(protectedScanner.breaker.metrics().failedRequests).toBe(1);
  });

  it("turns the breaker's own timeout into a timeout ScanError", async () => {
    const clock = new ManualClock(0);
    const slow = MockScanner.clean().withLatency(5_000).withClock(clock);
    const protectedScanner = withCircuitBreaker(slow, { timeout: 100, clock });
    const scan = protectedScanner.scan(file());
    await tick();
    clock.advance(100);
    const error = await scan.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScanError);
    expect(error).toMatchObject({ kind: 'timeout', message: 'mock: scan timed out after 100 ms' });
    expect(protectedScanner.breaker.metrics().timeouts).toBe(1);
  });

  it('does not count a scan the caller cancelled', async () => {
    const clock = new ManualClock(0);
    const protectedScanner = withCircuitBreaker(
      MockScanner.clean().withLatency(5_000).withClock(clock),
      {
        failureThreshold: 1,
        clock,
      },
    );
    const controller = new AbortController();
    const scan = protectedScanner.scan(file(), { signal: controller.signal });
    await tick();
    controller.abort();
    await expect(scan).rejects.toMatchObject({ kind: 'cancelled' });
    expect(protectedScanner.breaker.state().name).toBe('closed');
  });

  it('frees the half-open probe slot whatever the probe did', async () => {
    const clock = new ManualClock(0);
    const scanner = MockScanner.clean();
    const protectedScanner = withCircuitBreaker(scanner, {
      failureThreshold: 1,
      openDuration: 1_000,
      successThreshold: 2,
      clock,
    });
    scanner.makeUnhealthy();
    await protectedScanner.scan(file()).catch(() => {});
    clock.advance(1_000);
    // A probe that fails on the input (not counted) still gives its slot back.
    scanner.makeHealthy();
    await expect(
      protectedScanner.scan(FileInput.fromBytes(new Uint8Array(0))),
    ).rejects.toMatchObject({ kind: 'malformed_file' });
    await expect(protectedScanner.scan(file())).resolves.toMatchObject({
      outcome: { type: 'clean' },
    });
    await expect(protectedScanner.scan(file())).resolves.toMatchObject({
      outcome: { type: 'clean' },
    });
    expect(protectedScanner.breaker.state().name).toBe('closed');
  });

  it('streams through the breaker to a scanner that streams', async () => {
    const source = countingStream(50, 1_000);
    const result = await withCircuitBreaker(MockScanner.clean()).scan(
      FileInput.fromStream(source.stream, { filename: 's.bin' }),
    );
    expect(result.fileMetadata.size).toBe(50_000);
    expect(source.pulled()).toBe(50);
  });

  it('health-checks the engine directly, open or not', async () => {
    const scanner = MockScanner.clean();
    const protectedScanner = withCircuitBreaker(scanner);
    protectedScanner.breaker.forceOpen();
    await expect(protectedScanner.healthCheck()).resolves.toBeUndefined();
    scanner.makeUnhealthy();
    await expect(protectedScanner.healthCheck()).rejects.toMatchObject({
      kind: 'engine_unavailable',
    });
    expect(protectedScanner.breaker.metrics().totalRequests).toBe(0);
    expect(await protectedScanner.signatureVersion?.()).toBe('mock-1');
  });

  it("reports a fallback scanner's own failure under the fallback's name", async () => {
    const backup = MockScanner.clean().withName('backup');
    backup.makeUnhealthy();
    const protectedScanner = withCircuitBreaker(MockScanner.clean(), {
      fallback: FallbackBehavior.fallback(backup),
    });
    protectedScanner.breaker.forceOpen();
    await expect(protectedScanner.scan(file())).rejects.toMatchObject({
      kind: 'engine_unavailable',
      engine: 'backup',
    });
  });

  it("rejects fallbacks that are not scanbridge's, and things that are not scanners", () => {
    expect(() =>
      withCircuitBreaker(MockScanner.clean(), {
        fallback: CoreFallback.failOpen(() => 1) as never,
      }),
    ).toThrow(/option "fallback" must come from scanbridge's FallbackBehavior/);
    expect(() => FallbackBehavior.fallback({} as never)).toThrow(/needs a Scanner, got an object/);
    expect(() => withCircuitBreaker(null as never)).toThrow(/expected a Scanner, got null/);
    expect(() => withCircuitBreaker(MockScanner.clean(), { failureTreshold: 3 } as never)).toThrow(
      /unknown option "failureTreshold"/,
    );
  });

  it('holds the fallback scanner to the same time limit', async () => {
    const clock = new ManualClock(0);
    const stuck = MockScanner.clean().withName('backup').withLatency(60_000).withClock(clock);
    const protectedScanner = withCircuitBreaker(MockScanner.clean(), {
      fallback: FallbackBehavior.fallback(stuck),
      clock,
    });
    protectedScanner.breaker.forceOpen();
    const scan = protectedScanner.scan(file(), { timeoutMs: 500 });
    await tick();
    clock.advance(500);
    await expect(scan).rejects.toMatchObject({ kind: 'timeout', engine: 'backup' });
  });
});

describe('withCircuitBreaker and the caller', () => {
  it("says cancelled for the caller's abort, whatever its reason, and counts nothing", async () => {
    const scanner = withCircuitBreaker(MockScanner.clean().withLatency(5_000), {
      failureThreshold: 1,
    });
    const controller = new AbortController();
    const scanning = scanner.scan(file(), { signal: controller.signal });
    const reason = new Error('client left');
    controller.abort(reason);
    const error = await scanning.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScanError);
    expect(error).toMatchObject({ kind: 'cancelled', cause: reason });
    expect(scanner.breaker.state().name).toBe('closed');
  });
});
