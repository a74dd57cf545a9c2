import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { FileInput } from '../src/index.js';
import { useClamd } from './clamd.js';
import { type FakeScan, useFakeClamd } from './clamd-fake.js';
import { bytes, EICAR, failure } from './helpers.js';

const clamd = useClamd();
const fakeClamd = useFakeClamd();

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Infected when the content says so, after a delay the content picks: replies come out of order. */
async function byContent(scan: FakeScan): Promise<string> {
  const text = scan.content.toString('latin1');
  await later(Number(/delay=(\d+)/.exec(text)?.[1] ?? 0));
  return text.includes('bad') ? 'stream: Fake.Bad FOUND' : 'stream: OK';
}
const note = (i: number) =>
  FileInput.fromBytes(bytes(`file ${i} delay=${(i * 7) % 11} ${i % 3 === 0 ? 'bad' : 'good'}`));
const expected = (i: number) => (i % 3 === 0 ? 'infected' : 'clean');

/** `count` scans, `inFlight` at a time, in order of start: each one's outcome type. */
async function scanAll(
  scanner: ClamAvScanner,
  count: number,
  inFlight: number,
  input: (i: number) => FileInput,
): Promise<string[]> {
  const outcomes: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      outcomes[i] = (await scanner.scan(input(i))).outcome.type;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return outcomes;
}

async function until(condition: () => boolean, ms = 45): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await later(2);
}

describe('scans share a few clamd sessions', () => {
  it('carries many scans over at most maxSessions connections, each reply matched to its scan', async () => {
    const fake = await fakeClamd({ scan: byContent });
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 2 });
    const outcomes = await scanAll(scanner, 60, 8, note);
    expect(outcomes).toEqual(Array.from({ length: 60 }, (_, i) => expected(i)));
    expect(fake.connections()).toBeLessThanOrEqual(2);
    expect(fake.sessions()).toBe(fake.connections());
    expect(fake.scans.every((scan) => scan.inSession)).toBe(true);
    await scanner.close();
  });

  it('against the real clamd: 300 scans, 8 at once, every verdict right', async () => {
    const scanner = new ClamAvScanner({ port: clamd().port });
    const input = (i: number) =>
      FileInput.fromBytes(bytes(i % 5 === 0 ? EICAR : `clean file number ${i}`));
    const outcomes = await scanAll(scanner, 300, 8, input);
    expect(outcomes).toEqual(
      Array.from({ length: 300 }, (_, i) => (i % 5 === 0 ? 'infected' : 'clean')),
    );
    await scanner.close();
  });

  it('a session clamd breaks loses no verdict: what can be read again is sent again on a fresh connection', async () => {
    let broken = false;
    const fake = await fakeClamd({
      async scan(scan) {
        // The first session dies with its third stream, while earlier replies are still owed.
        if (!broken && scan.inSession && scan.request >= 4) {
          broken = true;
          scan.socket.destroy();
          return undefined;
        }
        return byContent(scan);
      },
    });
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1 });
    const outcomes = await scanAll(scanner, 12, 6, note);
    expect(outcomes).toEqual(Array.from({ length: 12 }, (_, i) => expected(i)));
    expect(broken).toBe(true);
    // Sent again, each on a connection of its own, outside any session.
    expect(fake.scans.some((scan) => !scan.inSession)).toBe(true);
    await scanner.close();
  });

  it('a small stream is read whole before it is sent, so a session that breaks under it sends it again', async () => {
    const fake = await fakeClamd({
      scan: (scan) => {
        if (!scan.inSession) return 'stream: OK';
        scan.socket.destroy();
        return undefined;
      },
    });
    const scanner = new ClamAvScanner({ port: fake.port });
    async function* upload(): AsyncGenerator<Uint8Array> {
      yield bytes('part one, ');
      yield bytes('part two');
    }
    expect((await scanner.scan(FileInput.fromStream(upload()))).outcome.type).toBe('clean');
    expect(fake.scans.map((scan) => [scan.inSession, scan.content.toString()])).toEqual([
      [true, 'part one, part two'],
      [false, 'part one, part two'],
    ]);
    await scanner.close();
  });

  it('each scan keeps its own time limit: one clamd never answers times out, the others on its session do not', async () => {
    const fake = await fakeClamd({
      scan: (scan) => (scan.content.toString().includes('hang') ? undefined : byContent(scan)),
    });
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1, scanTimeoutMs: 300 });
    const hung = failure(scanner.scan(FileInput.fromBytes(bytes('hang'))));
    const others = scanAll(scanner, 6, 3, note);
    expect(await hung).toMatchObject({
      kind: 'timeout',
      message: `clamav: timed out after 300 ms waiting for clamd at 127.0.0.1:${fake.port} to answer INSTREAM`,
    });
    expect(await others).toEqual(Array.from({ length: 6 }, (_, i) => expected(i)));
    expect(fake.connections()).toBe(1);
    await scanner.close();
  });

  it('a stalled input times out while it is read, before it takes any session: the session goes on with the next scan', async () => {
    const fake = await fakeClamd({ scan: byContent });
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1, scanTimeoutMs: 40 });
    async function* stalls(): AsyncGenerator<Uint8Array> {
      yield bytes('a start');
      await new Promise(() => {});
    }
    expect(await failure(scanner.scan(FileInput.fromStream(stalls())))).toMatchObject({
      kind: 'timeout',
      message: 'clamav: timed out after 40 ms reading the input',
    });
    expect((await scanner.scan(note(3))).outcome.type).toBe('infected');
    expect(fake.connections()).toBe(1);
    expect(fake.scans.map((scan) => scan.content.toString().slice(0, 7))).toEqual(['file 3 ']);
    await scanner.close();
  });

  it('an abort stops waiting for the reply and leaves the session to the others', async () => {
    const fake = await fakeClamd({
      scan: (scan) =>
        scan.content.toString().includes('slow')
          ? later(30).then(() => 'stream: OK')
          : byContent(scan),
    });
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1 });
    const controller = new AbortController();
    const aborted = failure(
      scanner.scan(FileInput.fromBytes(bytes('slow')), { signal: controller.signal }),
    );
    await until(() => fake.scans.length === 1);
    controller.abort();
    expect(await aborted).toMatchObject({ kind: 'cancelled' });
    expect((await scanner.scan(note(1))).outcome.type).toBe('clean');
    expect(fake.connections()).toBe(1);
    await scanner.close();
  });
});

describe('pooled connections never outstay their use', () => {
  it('an idle session says END and closes after sessionIdleMs', async () => {
    const fake = await fakeClamd();
    const scanner = new ClamAvScanner({ port: fake.port, sessionIdleMs: 10 });
    await scanner.scan(note(1));
    expect(fake.open()).toBe(1);
    await until(() => fake.open() === 0);
    expect(fake.open()).toBe(0);
    expect(fake.commands.at(-1)).toBe('END');
  });

  it('close() ends every session; a later scan opens a new one', async () => {
    const fake = await fakeClamd();
    const scanner = new ClamAvScanner({ port: fake.port, sessionIdleMs: 600_000 });
    await scanAll(scanner, 8, 4, note);
    expect(fake.open()).toBeGreaterThan(0);
    await scanner.close();
    await until(() => fake.open() === 0);
    expect(fake.open()).toBe(0);
    expect((await scanner.scan(note(3))).outcome.type).toBe('clean');
    await scanner.close();
  });

  it('an idle pooled session does not keep the process alive', async () => {
    const fake = await fakeClamd();
    const child = fileURLToPath(new URL('./clamd-child.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=breakwater-source', '--import', 'tsx', child, String(fake.port)],
      { timeout: 20_000 },
    );
    expect(stdout.trim()).toBe('clean');
    expect(fake.sessions()).toBe(1);
  }, 30_000);
});
