import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { bytes, countingStream, EICAR, EICAR_SHA256 } from '../test/helpers.js';
import type { ScanError } from './errors.js';
import { FileInput } from './input.js';
import { MockScanner } from './mock-scanner.js';

const file = (text = 'hello') => FileInput.fromBytes(bytes(text), 'hello.txt');

describe('MockScanner', () => {
  it('reads and hashes what it scans, and reports it', async () => {
    const scanner = MockScanner.clean();
    const result = await scanner.scan(FileInput.fromBytes(bytes(EICAR), 'eicar.com'), {
      context: { tenantId: 't1' },
    });
    expect(result.outcome).toEqual({ type: 'clean' });
    expect(result.engine).toBe('mock');
    expect(result.fileMetadata).toEqual({
      filename: 'eicar.com',
      size: 68,
      hash: { sha256: EICAR_SHA256 },
    });
    expect(result.context).toEqual({ tenantId: 't1' });
    expect(result.cached).toBe(false);
    expect(result.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(scanner.scanCount).toBe(1);
  });

  it('reports the threats it was given under its own name', async () => {
    const scanner = MockScanner.infected([
      'Eicar-Test-Signature',
      { name: 'Trojan.X', severity: 'critical' },
    ]).withName('engine-a');
    const { outcome } = await scanner.scan(file());
    expect(outcome).toEqual({
      type: 'infected',
      threats: [
        { name: 'Eicar-Test-Signature', severity: 'high', engine: 'engine-a' },
        { name: 'Trojan.X', severity: 'critical', engine: 'engine-a' },
      ],
    });
  });

  it('answers by sha256 with withResponse', async () => {
    const scanner = MockScanner.clean().withResponse(EICAR_SHA256, {
      type: 'infected',
      threats: [{ name: 'Eicar', severity: 'low', engine: 'mock' }],
    });
    expect((await scanner.scan(FileInput.fromBytes(bytes(EICAR)))).outcome.type).toBe('infected');
    expect((await scanner.scan(file())).outcome.type).toBe('clean');
  });

  it('fails in a fixed pattern with withFailRate', async () => {
    const scanner = MockScanner.clean().withFailRate(0.5);
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(
        await scanner.scan(file()).then(
          () => 'ok',
          (e: ScanError) => e.kind,
        ),
      );
    }
    expect(outcomes).toEqual([
      'ok',
      'connection_failed',
      'ok',
      'connection_failed',
      'ok',
      'connection_failed',
    ]);
    expect(scanner.scanCount).toBe(6);
  });

  it('is unavailable while unhealthy, for scans and health checks', async () => {
    const scanner = MockScanner.clean();
    scanner.makeUnhealthy();
    await expect(scanner.scan(file())).rejects.toMatchObject({
      kind: 'engine_unavailable',
      engine: 'mock',
    });
    await expect(scanner.healthCheck()).rejects.toMatchObject({ kind: 'engine_unavailable' });
    scanner.makeHealthy();
    await expect(scanner.healthCheck()).resolves.toBeUndefined();
    expect((await scanner.scan(file())).outcome.type).toBe('clean');
  });

  it('takes its latency on the clock it is given, and an abort cuts it short', async () => {
    const clock = new ManualClock(1_000);
    const scanner = MockScanner.clean().withLatency(250).withClock(clock);
    const scan = scanner.scan(file());
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(250);
    const result = await scan;
    expect(result.durationMs).toBe(250);
    expect(result.startedAt).toBe(1_000);

    const controller = new AbortController();
    const aborted = scanner.scan(file(), { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
  });

  it('streams, and stops at its maxFileSize without reading the rest', async () => {
    const source = countingStream(100, 10);
    const scanner = MockScanner.clean().withMaxFileSize(25);
    await expect(scanner.scan(FileInput.fromStream(source.stream))).rejects.toMatchObject({
      kind: 'file_too_large',
    });
    expect(source.pulled()).toBe(3);
    expect(scanner.maxFileSize).toBe(25);
  });

  it('rejects bad builder values with the value named', () => {
    expect(() => MockScanner.clean().withFailRate(1.5)).toThrow(/between 0 and 1, got 1.5/);
    expect(() => MockScanner.clean().withLatency(-1)).toThrow(
      /withLatency: expected a finite number >= 0, got -1/,
    );
    expect(() => MockScanner.clean().withResponse('abc', { type: 'clean' })).toThrow(
      /64 hex digits, got "abc"/,
    );
    expect(() => MockScanner.clean().withName('')).toThrow(/non-empty string/);
    expect(() => MockScanner.infected([])).toThrow(/at least one threat/);
  });
});
