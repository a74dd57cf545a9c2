import { Readable } from 'node:stream';
import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { FileInput, presets, ScanManager, withCircuitBreaker } from '../src/index.js';
import { freePort, useClamd } from './clamd.js';
import { bytes, countingStream, EICAR, EICAR_SHA256 } from './helpers.js';
import { saturatedPort } from './saturated-port.js';

const clamd = useClamd();

const tcp = (extra: object = {}) =>
  new ClamAvScanner({ host: '127.0.0.1', port: clamd().port, ...extra });
const eicar = () => FileInput.fromBytes(bytes(EICAR), 'eicar.com');

describe('ClamAvScanner against a real clamd', () => {
  it('finds EICAR over TCP and over the unix socket, and passes a clean file', async () => {
    for (const scanner of [tcp(), new ClamAvScanner({ socketPath: clamd().socketPath })]) {
      const infected = await scanner.scan(eicar());
      expect(infected.outcome.type).toBe('infected');
      const threat = infected.outcome.type === 'infected' ? infected.outcome.threats[0] : undefined;
      expect(threat?.name.startsWith('Eicar-Test-Signature')).toBe(true);
      expect(threat).toMatchObject({ severity: 'high', engine: 'clamav' });
      expect(infected.fileMetadata).toMatchObject({
        filename: 'eicar.com',
        size: 68,
        hash: { sha256: EICAR_SHA256 },
      });
      expect(infected.details.reply).toMatch(/^stream: Eicar-Test-Signature.* FOUND$/);
      expect(
        (await scanner.scan(FileInput.fromBytes(bytes('just a note'), 'note.txt'))).outcome,
      ).toEqual({ type: 'clean' });
    }
  });

  it('streams in small chunks without buffering the file', async () => {
    const source = countingStream(300, 1_000);
    const result = await tcp({ chunkSize: 4_096 }).scan(FileInput.fromStream(source.stream));
    expect(result.outcome).toEqual({ type: 'clean' });
    expect(result.fileMetadata.size).toBe(300_000);
    const split = Readable.from([Buffer.from(EICAR.slice(0, 10)), Buffer.from(EICAR.slice(10))]);
    expect((await tcp({ chunkSize: 7 }).scan(FileInput.fromStream(split))).outcome.type).toBe(
      'infected',
    );
  });

  it('answers PING and VERSION', async () => {
    const scanner = tcp();
    await expect(scanner.healthCheck()).resolves.toBeUndefined();
    // No official database here, so there is no signature version to report.
    expect(await scanner.signatureVersion()).toBeUndefined();
    expect((await scanner.scan(eicar())).engineVersion).toMatch(/^ClamAV \d+\.\d+/);
  });

  it("maps clamd's size limit to file_too_large", async () => {
    const big = FileInput.fromBytes(new Uint8Array(2 * 1024 * 1024), 'big.bin');
    await expect(tcp({ maxFileSize: 4 * 1024 * 1024 }).scan(big)).rejects.toMatchObject({
      kind: 'file_too_large',
      message: expect.stringContaining('INSTREAM size limit exceeded'),
    });
    await expect(tcp({ maxFileSize: 1_000 }).scan(big)).rejects.toMatchObject({
      kind: 'file_too_large',
    });
  });

  it('fails to connect with connection_failed, and times out connecting and scanning', async () => {
    const closedPort = await freePort();
    await expect(new ClamAvScanner({ port: closedPort }).scan(eicar())).rejects.toMatchObject({
      kind: 'connection_failed',
      message: `clamav: cannot connect to clamd at 127.0.0.1:${closedPort}: connection refused (ECONNREFUSED)`,
    });
    await expect(
      new ClamAvScanner({ socketPath: '/nonexistent/clamd.sock' }).healthCheck(),
    ).rejects.toMatchObject({
      kind: 'connection_failed',
      message: 'clamav: cannot connect to clamd at /nonexistent/clamd.sock: no such file (ENOENT)',
    });
    const blackhole = await saturatedPort();
    try {
      await expect(
        new ClamAvScanner({ port: blackhole.port, connectTimeoutMs: 30 }).healthCheck(),
      ).rejects.toMatchObject({
        kind: 'timeout',
        message: expect.stringContaining(
          `connecting to clamd at 127.0.0.1:${blackhole.port} timed out after 30 ms`,
        ),
      });
    } finally {
      blackhole.close();
    }
    // The timeout says what the scan was doing: reading a small input, or sending a large one.
    async function* stalls(start: Uint8Array): AsyncGenerator<Uint8Array> {
      yield start;
      await new Promise(() => {});
    }
    await expect(
      tcp({ scanTimeoutMs: 40 }).scan(FileInput.fromStream(stalls(bytes('a start')))),
    ).rejects.toMatchObject({
      kind: 'timeout',
      message: 'clamav: timed out after 40 ms reading the input',
    });
    // Long enough to connect on a busy machine (300 ms was not, once, under a loaded test run):
    // the upload stalls for good either way.
    await expect(
      tcp({ scanTimeoutMs: 1_000 }).scan(FileInput.fromStream(stalls(new Uint8Array(300_000)))),
    ).rejects.toMatchObject({
      kind: 'timeout',
      message: `clamav: timed out after 1000 ms sending the input to clamd at 127.0.0.1:${clamd().port}`,
    });
  });

  it('rejects bad options by name', () => {
    expect(() => new ClamAvScanner({ port: 70_000 })).toThrow(/"port" must be <= 65535, got 70000/);
    expect(() => new ClamAvScanner({ socketPath: '/s', host: 'h' })).toThrow(
      /either socketPath or host\/port/,
    );
    expect(() => new ClamAvScanner({ chunkSize: 0 })).toThrow(
      /"chunkSize" must be an integer >= 1, got 0/,
    );
    expect(() => new ClamAvScanner({ prot: 1 } as never)).toThrow(/unknown option "prot"/);
  });
});

describe('a breaker around clamd, when clamd dies', () => {
  it('opens after the configured failures and closes once clamd is back', async () => {
    const clock = new ManualClock(Date.now());
    const guarded = withCircuitBreaker(tcp({ connectTimeoutMs: 1_000 }), {
      ...presets.strict(),
      successThreshold: 2,
      clock,
    });
    const manager = ScanManager.builder().addScanner(guarded).build();
    expect((await manager.scan(eicar())).aggregatedOutcome.type).toBe('infected');

    // Killed mid-scan: the upload is still streaming when clamd goes away.
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slowUpload(): AsyncGenerator<Uint8Array> {
      yield bytes('first part of a long file ');
      await gate;
      yield bytes('the rest');
    }
    // Settled into a value at once: it fails while we are still killing clamd.
    const midScan = guarded.scan(FileInput.fromStream(slowUpload())).then(
      () => 'no error',
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    await clamd().kill();
    release();
    expect(await midScan).toMatchObject({ kind: 'connection_failed' });

    await expect(guarded.scan(eicar())).rejects.toMatchObject({ kind: 'connection_failed' });
    await expect(guarded.scan(eicar())).rejects.toMatchObject({ kind: 'connection_failed' });
    expect(guarded.breaker.state().name).toBe('open');
    const report = await manager.scan(eicar()).catch((error: unknown) => error);
    expect(report).toMatchObject({ kind: 'circuit_open' });

    await clamd().start();
    clock.advance(60_000);
    expect(guarded.breaker.state().name).toBe('half_open');
    expect((await guarded.scan(eicar())).outcome.type).toBe('infected');
    expect((await guarded.scan(FileInput.fromBytes(bytes('fine')))).outcome.type).toBe('clean');
    expect(guarded.breaker.state().name).toBe('closed');
  }, 60_000);
});
