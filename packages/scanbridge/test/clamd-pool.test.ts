import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { socketFailure } from '../src/clamav/clamd-wire.js';
import { ScanSlots } from '../src/clamav/scan-slots.js';
import { FileInput, presets, withCircuitBreaker } from '../src/index.js';
import { freePort, useClamd } from './clamd.js';
import { useFakeClamd } from './clamd-fake.js';
import { bytes, EICAR, failure, tempDirs } from './helpers.js';

// StreamMaxLength 1M (the harness's default).
const clamd = useClamd();
const fakeClamd = useFakeClamd();

const MiB = 1024 * 1024;
const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const once = (chunk: Uint8Array) =>
  FileInput.fromStream(
    (async function* () {
      yield chunk;
    })(),
  );
/** A stream that sends `start` and then nothing more until `signal` aborts. */
function stalled(start: Uint8Array, signal: AbortSignal): FileInput {
  return FileInput.fromStream(
    (async function* () {
      yield start;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    })(),
  );
}

describe('a file over StreamMaxLength never costs the scans beside it', () => {
  it('streams beside a 4 MiB file on one session all get their verdicts, and the breaker stays closed', async () => {
    const guarded = withCircuitBreaker(new ClamAvScanner({ port: clamd().port, maxSessions: 1 }), {
      ...presets.strict(),
    });
    for (let round = 0; round < 3; round++) {
      const scans = Array.from({ length: 6 }, (_, i) =>
        i === 2
          ? failure(guarded.scan(FileInput.fromBytes(new Uint8Array(4 * MiB).fill(1))))
          : guarded.scan(once(bytes(i % 2 === 1 ? EICAR : `clean ${i}`))),
      );
      const [first, second, big, ...rest] = await Promise.all(scans);
      expect(big).toMatchObject({ kind: 'file_too_large' });
      const outcomes = [first, second, ...rest].map(
        (result) => (result as { outcome: { type: string } }).outcome.type,
      );
      expect(outcomes).toEqual(['clean', 'infected', 'infected', 'clean', 'infected']);
    }
    expect(guarded.breaker.state().name).toBe('closed');
    expect(guarded.breaker.metrics().failedRequests).toBe(0);
  });

  it('a small input clamd refuses on a session ends that session: its peers are sent again, and inputs that size go alone from then on', async () => {
    // A clamd whose StreamMaxLength is 100 000 bytes: it refuses, drops what the session
    // still owed (requests sent before the big one included), and hangs up.
    const fake = await fakeClamd({
      async scan(scan) {
        if (scan.content.byteLength <= 100_000) {
          await later(scan.inSession ? 20 : 0);
          return scan.content.includes('bad') ? 'stream: Fake.Bad FOUND' : 'stream: OK';
        }
        scan.socket.end(`${scan.request}: INSTREAM size limit exceeded. ERROR\0`);
        return undefined;
      },
    });
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1 });
    const peer = (i: number) => FileInput.fromBytes(bytes(i % 2 === 0 ? `bad ${i}` : `good ${i}`));
    const scans = [peer(0), peer(1), FileInput.fromBytes(new Uint8Array(150_000)), peer(3)].map(
      (input) =>
        scanner.scan(input).then(
          (result) => result.outcome.type,
          (error: unknown) => error,
        ),
    );
    const [a, b, refused, d] = await Promise.all(scans);
    expect([a, b, d]).toEqual(['infected', 'clean', 'clean']);
    expect(refused).toMatchObject({ kind: 'file_too_large' });
    const before = fake.scans.length;
    expect(await failure(scanner.scan(FileInput.fromBytes(new Uint8Array(150_000))))).toMatchObject(
      { kind: 'file_too_large' },
    );
    expect(fake.scans.slice(before).map((scan) => scan.inSession)).toEqual([false]);
    await scanner.close();
  });
});

describe('one scan giving up never fails the others', () => {
  it('a large upload aborted while clamd is slow to read leaves the other scans their own verdicts', async () => {
    const fake = await fakeClamd({
      chunk(_received, socket) {
        socket.pause();
        setTimeout(() => socket.resume(), 20);
      },
      scan: async (scan) => {
        await later(60);
        return scan.content.includes('EICAR') ? 'stream: Eicar FOUND' : 'stream: OK';
      },
    });
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1 });
    const first = scanner.scan(once(bytes(EICAR)));
    await later(5);
    const controller = new AbortController();
    const big = failure(
      scanner.scan(FileInput.fromBytes(new Uint8Array(20 * MiB).fill(7)), {
        signal: controller.signal,
      }),
    );
    const after = scanner.scan(FileInput.fromBytes(bytes('clean after')));
    setTimeout(() => controller.abort(new Error('the user went away')), 20);
    expect(await big).toMatchObject({ kind: 'cancelled' });
    expect((await first).outcome.type).toBe('infected');
    expect((await after).outcome.type).toBe('clean');
    await scanner.close();
  });

  it('a slow stream holds no session: a small scan beside four of them is answered', async () => {
    const scanner = new ClamAvScanner({ port: clamd().port, maxSessions: 1, scanTimeoutMs: 2_000 });
    const controller = new AbortController();
    const slow = Array.from({ length: 4 }, () =>
      failure(
        scanner.scan(stalled(bytes('slow '), controller.signal), { signal: controller.signal }),
      ),
    );
    await later(10);
    expect((await scanner.scan(FileInput.fromBytes(bytes(EICAR)))).outcome.type).toBe('infected');
    controller.abort();
    for (const error of await Promise.all(slow)) expect(error.kind).toBe('cancelled');
    await scanner.close();
  });
});

describe('a session that goes silent', () => {
  it('is retired after a scan on it times out with nothing heard: later scans get a fresh one', async () => {
    const fake = await fakeClamd({ silent: (connection) => connection === 1 });
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1, scanTimeoutMs: 100 });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(
        await scanner.scan(FileInput.fromBytes(bytes(`note ${i}`))).then(
          (result) => result.outcome.type,
          (error: { kind: string }) => error.kind,
        ),
      );
    }
    expect(outcomes).toEqual(['timeout', 'clean', 'clean', 'clean']);
    expect(fake.sessions()).toBe(2);
    await scanner.close();
  });
});

describe('clamd that never answers VERSION', () => {
  it('costs no verdict: results come without engineVersion, and close() ends the session', async () => {
    const fake = await fakeClamd({
      version: null,
      scan: (scan) => (scan.content.includes('EICAR') ? 'stream: Eicar FOUND' : 'stream: OK'),
    });
    const scanner = new ClamAvScanner({ port: fake.port, scanTimeoutMs: 1_000 });
    const waited: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const result = await scanner.scan(FileInput.fromBytes(bytes(EICAR)));
      waited.push(Date.now() - started);
      expect(result.outcome.type).toBe('infected');
      expect(result.engineVersion).toBeUndefined();
    }
    // The first may wait a moment for the version; once it is late, no scan waits for it.
    expect(Math.max(waited[1] ?? 0, waited[2] ?? 0)).toBeLessThan(200);
    const started = Date.now();
    await scanner.close();
    // close() does not wait for a VERSION that is never answered.
    expect(Date.now() - started).toBeLessThan(100);
  });

  it('a VERSION reply that is not a version is not taken for one, and not asked again', async () => {
    const fake = await fakeClamd({ version: 'UNKNOWN COMMAND' });
    const scanner = new ClamAvScanner({ port: fake.port });
    for (let i = 0; i < 3; i++) {
      expect((await scanner.scan(FileInput.fromBytes(bytes('a note')))).engineVersion).toBe(
        undefined,
      );
    }
    expect(fake.commands.filter((command) => command === 'VERSION')).toHaveLength(1);
    await scanner.close();
  });
});

describe('close()', () => {
  it('resolves as soon as the last scan waiting on a session gives up', async () => {
    const fake = await fakeClamd({ scan: () => undefined });
    const scanner = new ClamAvScanner({
      port: fake.port,
      scanTimeoutMs: 200,
      sessionIdleMs: 10_000,
    });
    const scan = failure(scanner.scan(FileInput.fromBytes(bytes(EICAR))));
    await later(20);
    let closedAt = 0;
    const closing = scanner.close().then(() => {
      closedAt = Date.now();
    });
    expect((await scan).kind).toBe('timeout');
    const timedOutAt = Date.now();
    await closing;
    expect(closedAt - timedOutAt).toBeLessThan(100);
  });
});

describe('many scans started at once', () => {
  const tempDir = tempDirs();

  it('do not run the process out of file descriptors: 600 files at once under ulimit -n 160 are all scanned, pooled or not', async () => {
    const fake = await fakeClamd();
    const file = join(await tempDir(), 'note.txt');
    await writeFile(file, 'a small note');
    const child = fileURLToPath(new URL('./clamd-fd-child.ts', import.meta.url));
    const command = `ulimit -n 160 && exec "$0" --conditions=breakwater-source --import tsx "$@"`;
    for (const maxSessions of ['4', '0']) {
      const { stdout } = await promisify(execFile)(
        '/bin/sh',
        ['-c', command, process.execPath, child, String(fake.port), file, '600', maxSessions],
        { timeout: 20_000 },
      );
      expect(JSON.parse(stdout)).toEqual({ clean: 600 });
    }
  }, 30_000);
});

describe('a large input on a connection of its own', () => {
  it('is closed when that connection cannot be made', async () => {
    const closedPort = await freePort();
    let closed = false;
    async function* large(): AsyncGenerator<Uint8Array> {
      try {
        yield new Uint8Array(300_000);
        yield new Uint8Array(10);
      } finally {
        closed = true;
      }
    }
    const scanner = new ClamAvScanner({ port: closedPort });
    expect(await failure(scanner.scan(FileInput.fromStream(large())))).toMatchObject({
      kind: 'connection_failed',
    });
    await later(5);
    expect(closed).toBe(true);
  });
});

describe('the default pool', () => {
  it('gives 8 scans at once a session each, so no session ever owes two replies', async () => {
    const owed = new Map<number, number>();
    let most = 0;
    const fake = await fakeClamd({
      async scan(scan) {
        const now = (owed.get(scan.connection) ?? 0) + 1;
        owed.set(scan.connection, now);
        most = Math.max(most, now);
        await later(scan.request % 3);
        owed.set(scan.connection, now - 1);
        return 'stream: OK';
      },
    });
    const scanner = new ClamAvScanner({ port: fake.port });
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < 200) await scanner.scan(FileInput.fromBytes(bytes(`note ${next}`)));
      }),
    );
    expect(most).toBe(1);
    expect(fake.sessions()).toBeLessThanOrEqual(8);
    await scanner.close();
  });
});

describe('scans past the 64 under way', () => {
  it('wait their turn, holding nothing, and go once a scan ends', async () => {
    const fake = await fakeClamd({ scan: () => undefined });
    const scanner = new ClamAvScanner({ port: fake.port, scanTimeoutMs: 150 });
    const scan = () => failure(scanner.scan(FileInput.fromBytes(bytes('a note'))));
    const scans = Array.from({ length: 64 }, scan);
    await later(40);
    scans.push(scan());
    await later(10);
    expect(fake.scans).toHaveLength(64);
    const errors = await Promise.all(scans);
    expect(errors.every((error) => error.kind === 'timeout')).toBe(true);
    expect(fake.scans).toHaveLength(65);
    await scanner.close();
  });
});

describe('ScanSlots', () => {
  it('hands slots out in turn, and a waiter that gives up is dropped at once', async () => {
    const slots = new ScanSlots(1);
    const open = new AbortController().signal;
    expect(slots.take(open)).toBeUndefined();
    const quitter = new AbortController();
    const gaveUp = slots.take(quitter.signal);
    const patient = slots.take(open);
    quitter.abort(new Error('gave up'));
    await expect(gaveUp).rejects.toThrow('gave up');
    slots.give();
    await patient;
    slots.give();
    expect(slots.take(open)).toBeUndefined();
  });
});

describe('socket errors, in words', () => {
  const endpoint = { host: '127.0.0.1', port: 3310 };
  const error = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

  it('says what happened, with the code', () => {
    expect(socketFailure(error('ECONNRESET'), 'clamav', endpoint).message).toBe(
      'clamav: connection to clamd at 127.0.0.1:3310 failed: the connection was reset (ECONNRESET)',
    );
    expect(socketFailure(error('EHOSTUNREACH'), 'clamav', endpoint).message).toContain(
      'no route to the host (EHOSTUNREACH)',
    );
  });

  it('running out of file descriptors is this process, not clamd: io, which no breaker counts', () => {
    for (const code of ['EMFILE', 'ENFILE']) {
      const failed = socketFailure(error(code), 'clamav', endpoint);
      expect(failed.kind).toBe('io');
      expect(failed.category).toBe('other');
      expect(failed.message).toMatch(/out of file descriptors/);
    }
  });
});
