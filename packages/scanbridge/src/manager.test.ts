import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import {
  bytes,
  countingStream,
  EICAR,
  EICAR_SHA256,
  entries,
  failingStream,
  fakeResult,
  tempDirs,
} from '../test/helpers.js';
import { FallbackBehavior, withCircuitBreaker } from './breaker-scanner.js';
import { ScanError } from './errors.js';
import { FileInput } from './input.js';
import { ScanManager } from './manager.js';
import { MockScanner } from './mock-scanner.js';
import type { ScanOutcome, ScanResult } from './result.js';
import type { Scanner } from './scanner.js';

const tempDir = tempDirs();
const tick = () => new Promise((resolve) => setImmediate(resolve));
const clean = (name: string) => MockScanner.clean().withName(name);
const eicar = () => FileInput.fromBytes(bytes(EICAR), 'eicar.com');
const text = (content = 'a harmless file') => FileInput.fromBytes(bytes(content), 'notes.txt');

/** A scanner that records how many scans it runs at once. */
function tracked(name: string, clock: ManualClock, latency: number): Scanner & { peak: number } {
  const inner = clean(name).withLatency(latency).withClock(clock);
  let running = 0;
  const scanner = {
    name,
    peak: 0,
    healthCheck: () => inner.healthCheck(),
    async scan(input: FileInput): Promise<ScanResult> {
      running++;
      scanner.peak = Math.max(scanner.peak, running);
      try {
        return await inner.scan(input);
      } finally {
        running--;
      }
    },
  };
  return scanner;
}

async function settle(clock: ManualClock, steps: number, ms: number): Promise<void> {
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < 5; j++) await tick();
    clock.advance(ms);
  }
}

describe('ScanManager.scan', () => {
  it('runs every engine and aggregates their verdicts', async () => {
    const manager = ScanManager.builder()
      .addScanner(clean('a'))
      .addScanner(MockScanner.infected(['Eicar-Test-Signature']).withName('b'))
      .build();
    const report = await manager.scan(eicar(), { tenantId: 'acme', requestId: 'r-1' });
    expect(report.results.map((r) => [r.engine, r.outcome.type])).toEqual([
      ['a', 'clean'],
      ['b', 'infected'],
    ]);
    expect(report.aggregatedOutcome).toEqual({
      type: 'infected',
      threats: [{ name: 'Eicar-Test-Signature', severity: 'high', engine: 'b' }],
    });
    expect(report.fileHash).toEqual({ sha256: EICAR_SHA256 });
    expect(report.fileMetadata).toMatchObject({ filename: 'eicar.com', size: 68 });
    expect(report.context).toEqual({ tenantId: 'acme', requestId: 'r-1' });
    expect(report.failures).toEqual([]);
  });

  it("reports wall time, not the sum of the engines' times", async () => {
    const clock = new ManualClock(10_000);
    const manager = ScanManager.builder()
      .addScanner(clean('a').withLatency(100).withClock(clock))
      .addScanner(clean('b').withLatency(100).withClock(clock))
      .withConfig({ clock })
      .build();
    const scan = manager.scan(text());
    await settle(clock, 1, 100);
    const report = await scan;
    expect(report.results.map((r) => r.durationMs)).toEqual([100, 100]);
    expect(report.totalDurationMs).toBe(100);
    expect(report.requestedAt).toBe(10_000);
  });

  it('runs at most maxParallel engines at once', async () => {
    const clock = new ManualClock(0);
    const engines = ['a', 'b', 'c'].map((name) => tracked(name, clock, 10));
    const builder = ScanManager.builder().withConfig({ maxParallel: 1, clock });
    for (const engine of engines) builder.addScanner(engine);
    const scan = builder.build().scan(text());
    await settle(clock, 3, 10);
    const report = await scan;
    expect(report.results).toHaveLength(3);
    expect(report.totalDurationMs).toBe(30);
    expect(engines.map((e) => e.peak)).toEqual([1, 1, 1]);
  });

  it('in first-success mode asks engines in turn until one answers', async () => {
    const first = clean('first');
    const second = MockScanner.infected(['X']).withName('second');
    const third = clean('third');
    first.makeUnhealthy();
    const manager = ScanManager.builder()
      .addScanner(first)
      .addScanner(second)
      .addScanner(third)
      .withConfig({ mode: 'first-success' })
      .build();
    const report = await manager.scan(text());
    expect(report.results.map((r) => r.engine)).toEqual(['second']);
    expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([
      ['first', 'engine_unavailable'],
    ]);
    expect(report.aggregatedOutcome.type).toBe('infected');
    expect(third.scanCount).toBe(0);
  });

  it('counts a failed engine in `all` mode: clean from some engines is not clean', async () => {
    const down = clean('down');
    down.makeUnhealthy();
    const report = await ScanManager.builder()
      .addScanner(clean('up'))
      .addScanner(down)
      .build()
      .scan(text());
    expect(report.aggregatedOutcome).toEqual({ type: 'error', recoverable: true });
    expect(report.failures[0]?.error).toBeInstanceOf(ScanError);
  });

  it('times out an engine without a breaker, and a breaker-wrapped one inside its breaker', async () => {
    const clock = new ManualClock(0);
    const plain = clean('plain').withLatency(10_000).withClock(clock);
    const guarded = withCircuitBreaker(clean('guarded').withLatency(10_000).withClock(clock), {
      failureThreshold: 1,
      clock,
    });
    const manager = ScanManager.builder()
      .addScanner(plain)
      .addScanner(guarded)
      .addScanner(clean('fast'))
      .withConfig({ scanTimeoutMs: 500, clock })
      .build();
    const scan = manager.scan(text());
    await settle(clock, 1, 500);
    const report = await scan;
    expect(report.failures.map((f) => [f.engine, f.error.kind, f.error.message])).toEqual([
      ['plain', 'timeout', 'plain: scan timed out after 500 ms'],
      ['guarded', 'timeout', 'guarded: scan timed out after 500 ms'],
    ]);
    expect(guarded.breaker.state().name).toBe('open');
    expect(report.results.map((r) => r.engine)).toEqual(['fast']);
  });

  it('fails with every cause when no engine answers', async () => {
    const a = clean('a');
    const b = withCircuitBreaker(clean('b'));
    a.makeUnhealthy();
    b.breaker.forceOpen();
    const error = (await ScanManager.builder()
      .addScanner(a)
      .addScanner(b)
      .build()
      .scan(text())
      .catch((e: unknown) => e)) as ScanError;
    expect(error).toBeInstanceOf(ScanError);
    expect(error.kind).toBe('engine_unavailable');
    expect(error.failures.map((f) => [f.engine, f.error.kind])).toEqual([
      ['a', 'engine_unavailable'],
      ['b', 'circuit_open'],
    ]);
    expect(error.message).toMatch(
      /^No engine could scan the file: a: engine_unavailable .*; b: circuit_open/,
    );
    expect((error.cause as AggregateError).errors).toHaveLength(2);
  });

  it('checks the input before any engine sees it', async () => {
    const dir = await tempDir();
    const engine = clean('a');
    const manager = ScanManager.builder()
      .addScanner(engine)
      .withConfig({ maxFileSize: 10 })
      .build();
    await expect(manager.scan(FileInput.fromPath(join(dir, 'missing.pdf')))).rejects.toMatchObject({
      kind: 'file_not_found',
    });
    await expect(manager.scan(FileInput.fromPath(dir))).rejects.toMatchObject({
      kind: 'io',
      message: expect.stringContaining('is a directory'),
    });
    await writeFile(join(dir, 'empty'), '');
    await expect(manager.scan(FileInput.fromPath(join(dir, 'empty')))).rejects.toMatchObject({
      kind: 'malformed_file',
    });
    await expect(manager.scan(text('more than ten bytes'))).rejects.toMatchObject({
      kind: 'file_too_large',
    });
    expect(engine.scanCount).toBe(0);
  });

  it('scans a file whose stat size is 0 but which has content (/proc/cpuinfo)', async () => {
    const engine = clean('a');
    const report = await ScanManager.builder()
      .addScanner(engine)
      .build()
      .scan(FileInput.fromPath('/proc/cpuinfo'));
    expect(report.aggregatedOutcome.type).toBe('clean');
    expect(report.fileMetadata.filename).toBe('cpuinfo');
    expect(report.fileMetadata.size).toBeGreaterThan(0);
    expect(report.results[0]?.fileMetadata).toEqual(report.fileMetadata);
  });

  it('computes md5 and blake3 when configured', async () => {
    const manager = ScanManager.builder()
      .addScanner(clean('a'))
      .withConfig({ hashes: ['md5', 'blake3'] })
      .build();
    const report = await manager.scan(FileInput.fromBytes(bytes('abc')));
    expect(report.fileHash).toEqual({
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      md5: '900150983cd24fb0d6963f7d28e17f72',
      blake3: '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85',
    });
    expect(report.results[0]?.fileMetadata.hash.blake3).toBe(report.fileHash.blake3);
  });

  it('stops every engine when the caller cancels', async () => {
    const clock = new ManualClock(0);
    const manager = ScanManager.builder()
      .addScanner(clean('a').withLatency(1_000).withClock(clock))
      .build();
    const controller = new AbortController();
    const scan = manager.scan(text(), {}, { signal: controller.signal });
    await tick();
    controller.abort();
    await expect(scan).rejects.toMatchObject({ kind: 'cancelled' });
  });
});

describe('ScanManager with streams', () => {
  it('spools a stream once and gives every engine all of it', async () => {
    const source = countingStream(200, 1_000);
    const a = clean('a');
    const b = clean('b');
    const report = await ScanManager.builder()
      .addScanner(a)
      .addScanner(b)
      .build()
      .scan(FileInput.fromStream(source.stream, { filename: 'big.bin' }));
    expect(report.results.map((r) => r.fileMetadata.size)).toEqual([200_000, 200_000]);
    expect(report.fileMetadata.size).toBe(200_000);
    expect(report.results[0]?.fileMetadata.hash).toEqual(report.fileHash);
    expect(source.pulled()).toBe(200);
  });

  it('stops a stream over maxFileSize, without reading the rest', async () => {
    const source = countingStream(1_000, 100);
    const manager = ScanManager.builder()
      .addScanner(clean('a'))
      .addScanner(clean('b'))
      .withConfig({ maxFileSize: 1_000 })
      .build();
    await expect(manager.scan(FileInput.fromStream(source.stream))).rejects.toMatchObject({
      kind: 'file_too_large',
    });
    expect(source.pulled()).toBeLessThan(40);
  });

  it('fails a stream that breaks half-way with io, for every engine', async () => {
    const manager = ScanManager.builder().addScanner(clean('a')).addScanner(clean('b')).build();
    const error = await manager
      .scan(FileInput.fromStream(failingStream(3, 'ECONNRESET from the uploader')))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'io',
      message: expect.stringContaining('ECONNRESET from the uploader'),
    });
  });

  it('fails a 0-byte stream', async () => {
    const manager = ScanManager.builder().addScanner(clean('a')).build();
    await expect(manager.scan(FileInput.fromStream(Readable.from([])))).rejects.toMatchObject({
      kind: 'malformed_file',
    });
  });

  it('spools a stream for engines that read in turn, and removes the spool', async () => {
    const spoolDir = await tempDir();
    const first = clean('first');
    first.makeUnhealthy();
    const second = clean('second');
    const manager = ScanManager.builder()
      .addScanner(first)
      .addScanner(second)
      .withConfig({ mode: 'first-success', spoolDir })
      .build();
    const report = await manager.scan(
      FileInput.fromStream(Readable.from([Buffer.from(EICAR)]), { filename: 'eicar.com' }),
    );
    expect(report.results[0]?.fileMetadata).toMatchObject({
      filename: 'eicar.com',
      size: 68,
      hash: { sha256: EICAR_SHA256 },
    });
    expect(await entries(spoolDir)).toEqual([]);
    await expect(manager.scan(FileInput.fromStream(failingStream(2)))).rejects.toMatchObject({
      kind: 'io',
    });
    expect(await entries(spoolDir)).toEqual([]);
  });
});

describe('ScanManager audit events', () => {
  it('logs scan_started, scan_completed and policy_decision, never contents or free-form metadata', async () => {
    const logged: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
    const logger = {
      info: (fields: Record<string, unknown>, message: string) =>
        logged.push({ level: 'info', fields, message }),
      warn: (fields: Record<string, unknown>, message: string) =>
        logged.push({ level: 'warn', fields, message }),
      error: (fields: Record<string, unknown>, message: string) =>
        logged.push({ level: 'error', fields, message }),
    };
    const manager = ScanManager.builder()
      .addScanner(MockScanner.infected(['Eicar-Test-Signature']))
      .withAuditLogger(logger)
      .build();
    const { report } = await manager.scanWithPolicy(eicar(), {
      tenantId: 'acme',
      metadata: { apiKey: 'sk-secret-123' },
    });
    expect(logged.map((l) => l.fields.event)).toEqual([
      'scan_started',
      'scan_completed',
      'policy_decision',
    ]);
    expect(logged[1]?.fields).toMatchObject({
      scanId: report.id,
      tenantId: 'acme',
      outcome: 'infected',
      threats: ['Eicar-Test-Signature'],
      sha256: EICAR_SHA256,
    });
    expect(logged[2]?.fields).toMatchObject({ action: 'block', ruleId: 'block-infected' });
    const everything = JSON.stringify(logged);
    expect(everything).not.toContain('EICAR-STANDARD');
    expect(everything).not.toContain('sk-secret-123');
  });

  it("logs a failed scan as a warning with each engine's failure kind", async () => {
    const warnings: Record<string, unknown>[] = [];
    const down = clean('down');
    down.makeUnhealthy();
    const manager = ScanManager.builder()
      .addScanner(down)
      .withAuditLogger({ info() {}, warn: (fields) => warnings.push(fields), error() {} })
      .build();
    await expect(manager.scan(text())).rejects.toBeInstanceOf(ScanError);
    expect(warnings).toEqual([
      expect.objectContaining({
        event: 'scan_completed',
        outcome: 'failed',
        failures: [{ engine: 'down', kind: 'engine_unavailable' }],
      }),
    ]);
  });
});

describe('ScanManager.builder', () => {
  it('refuses a manager with no engine, two engines of one name, and bad config', () => {
    expect(() => ScanManager.builder().build()).toThrow(/add at least one scanner/);
    expect(() => ScanManager.builder().addScanner(clean('a')).addScanner(clean('a'))).toThrow(
      /named "a" was already added/,
    );
    const build = (config: object) =>
      ScanManager.builder().addScanner(clean('a')).withConfig(config).build();
    expect(() => build({ scanTimeout: 5 })).toThrow(/unknown option "scanTimeout"/);
    expect(() => build({ mode: 'any' })).toThrow(
      /"mode" must be "all" or "first-success", got "any"/,
    );
    expect(() => build({ maxParallel: 0 })).toThrow(/"maxParallel" must be an integer >= 1, got 0/);
    expect(() => build({ hashes: ['sha1'] })).toThrow(/"hashes" must be an array of md5, blake3/);
    expect(() => build({ scanTimeoutMs: -1 })).toThrow(
      /"scanTimeoutMs" must be a finite number of milliseconds >= 1, got -1/,
    );
  });
});

describe('ScanManager under adversity', () => {
  it("does not count a slow upload against an engine's time limit or its breaker", async () => {
    const clock = new ManualClock(0);
    let open = (): void => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    async function* slowUpload(): AsyncGenerator<Uint8Array> {
      yield bytes('first half, ');
      await gate;
      yield bytes('second half');
    }
    const guarded = withCircuitBreaker(clean('clamav'), { failureThreshold: 1, clock });
    const manager = ScanManager.builder()
      .addScanner(guarded)
      .withConfig({ scanTimeoutMs: 100, clock })
      .build();
    const scan = manager.scan(FileInput.fromStream(slowUpload()));
    await tick();
    clock.advance(10_000);
    open();
    const report = await scan;
    expect(report.aggregatedOutcome.type).toBe('clean');
    expect(report.fileMetadata.size).toBe(23);
    expect(guarded.breaker.state().name).toBe('closed');
  });

  it('ends a scan of a stalled stream as soon as the caller cancels', async () => {
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield bytes('a little');
      await new Promise(() => {});
    }
    const manager = ScanManager.builder().addScanner(clean('a')).build();
    const controller = new AbortController();
    const scan = manager.scan(FileInput.fromStream(stalls()), {}, { signal: controller.signal });
    await tick();
    controller.abort();
    await expect(scan).rejects.toMatchObject({ kind: 'cancelled' });
  });

  it('keeps threats in view when another engine failed for good', async () => {
    const manager = ScanManager.builder()
      .addScanner(MockScanner.infected(['Eicar-Test-Signature']).withName('a'))
      .addScanner(clean('b').withMaxFileSize(10))
      .build();
    const { report, decision } = await manager.scanWithPolicy(eicar());
    // An infection outranks the other engine's failure (aggregate.ts); the failure stays reported.
    expect(report.aggregatedOutcome).toEqual({
      type: 'infected',
      threats: [{ name: 'Eicar-Test-Signature', severity: 'high', engine: 'a' }],
    });
    expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([['b', 'file_too_large']]);
    expect(decision).toMatchObject({ action: { type: 'block' }, matchedRuleId: 'block-infected' });
  });

  it('turns a result it cannot read into a failure, never into clean', async () => {
    const liar = (outcome: unknown, sha256 = EICAR_SHA256): Scanner => ({
      name: 'liar',
      healthCheck: async () => {},
      scan: async () => fakeResult('liar', { size: 68, sha256 }, outcome as ScanOutcome),
    });
    const scanWith = (scanner: Scanner) =>
      ScanManager.builder()
        .addScanner(clean('honest'))
        .addScanner(scanner)
        .build()
        .scanWithPolicy(eicar());
    for (const outcome of [
      { type: 'Infected' },
      { type: 'infected', threats: [] },
      { type: 'suspicious', confidence: 7 },
      null,
    ]) {
      const { report, decision } = await scanWith(liar(outcome));
      expect(report.failures.map((f) => f.error.kind)).toEqual(['ambiguous_response']);
      expect(decision.action.type).toBe('require_review');
    }
    const { report } = await scanWith(liar({ type: 'clean' }, 'f'.repeat(64)));
    expect(report.failures[0]?.error.message).toMatch(
      /describes other content .* the file changed during the scan/,
    );
  });

  it('reports a scanner that throws synchronously, and leaves no timer behind', async () => {
    const clock = new ManualClock(0);
    const broken: Scanner = {
      name: 'broken',
      healthCheck: async () => {},
      scan: () => {
        throw new TypeError('boom');
      },
    };
    const report = await ScanManager.builder()
      .addScanner(broken)
      .addScanner(clean('ok'))
      .withConfig({ clock })
      .build()
      .scan(text());
    expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([['broken', 'internal']]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('in first-success mode does not stop at a fail-open stand-in', async () => {
    const bypassed = withCircuitBreaker(clean('clamav'), {
      fallback: FallbackBehavior.failOpen(),
      logger: { info() {}, warn() {}, error() {} },
    });
    bypassed.breaker.forceOpen();
    const manager = ScanManager.builder()
      .addScanner(bypassed)
      .addScanner(clean('backup'))
      .withConfig({ mode: 'first-success' })
      .build();
    const report = await manager.scan(text());
    expect(report.results.map((r) => r.engine)).toEqual(['backup']);
    expect(report.failures.map((f) => [f.engine, f.error.kind])).toEqual([
      ['clamav', 'circuit_open'],
    ]);
  });

  it('says when the spool directory is the problem, not the file', async () => {
    const manager = ScanManager.builder()
      .addScanner(clean('a'))
      .withConfig({ spoolDir: '/nonexistent/spool' })
      .build();
    await expect(
      // Past the 1 MiB a stream is held in memory up to: only then is it spooled.
      manager.scan(FileInput.fromStream(Readable.from([Buffer.alloc(1024 * 1024 + 1, 0x78)]))),
    ).rejects.toMatchObject({
      kind: 'configuration',
      message: expect.stringContaining('option "spoolDir"'),
    });
  });

  it('holds a small stream in memory within its memoryBudget, and spools it with none', async () => {
    const small = () => FileInput.fromStream(Readable.from([Buffer.from('ten bytes!')]));
    const roomy = ScanManager.builder()
      .addScanner(clean('a'))
      .withConfig({ spoolDir: '/nonexistent/spool' })
      .build();
    expect((await roomy.scan(small())).aggregatedOutcome.type).toBe('clean');
    const none = ScanManager.builder()
      .addScanner(clean('a'))
      .withConfig({ spoolDir: '/nonexistent/spool', memoryBudget: 0 })
      .build();
    await expect(none.scan(small())).rejects.toMatchObject({
      kind: 'configuration',
      message: expect.stringContaining('option "spoolDir"'),
    });
  });

  it('refuses a time limit no timer can hold', () => {
    expect(() =>
      ScanManager.builder()
        .addScanner(clean('a'))
        .withConfig({ scanTimeoutMs: 30 * 86_400_000 })
        .build(),
    ).toThrow(/"scanTimeoutMs" must be <= 2147483647 ms/);
  });
});
