import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { InstreamBody } from '../src/clamav/instream-body.js';
import { FileInput } from '../src/index.js';
import { useFakeClamd } from './clamd-fake.js';
import { bytes, failure } from './helpers.js';

const fakeClamd = useFakeClamd();

const KiB = 1024;
const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fake whose first connection stops reading after its first INSTREAM chunk, for good. */
async function stopsReading() {
  let first: Socket | undefined;
  const fake = await fakeClamd({
    connected(socket, connection) {
      if (connection === 1) first = socket;
    },
    chunk(_received, socket) {
      if (socket === first) socket.pause();
    },
  });
  return fake;
}

/**
 * Until the scanner's one session holds more bytes than clamd is reading. Read from inside: on
 * a loaded machine the 48 scans take a while to reach the session, and a scan made before they
 * have would rightly join it and wait behind them.
 */
async function backlogged(scanner: ClamAvScanner): Promise<void> {
  const { pool } = scanner as unknown as { pool: { sessions: Set<{ backlogged: boolean }> } };
  const until = Date.now() + 4_000;
  while (![...pool.sessions].some((session) => session.backlogged)) {
    if (Date.now() > until) throw new Error('the session never held a backlog');
    await later(5);
  }
}

/** `count` distinct 256 KiB inputs, the size a session takes at most. */
const inputs = (count: number) =>
  Array.from({ length: count }, (_, i) => FileInput.fromBytes(new Uint8Array(256 * KiB).fill(i)));

describe('bytes clamd is not reading', () => {
  it('retire the session when a scan times out before its bytes left: later scans get a fresh one, and close() does not wait for them', async () => {
    const fake = await stopsReading();
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1, scanTimeoutMs: 100 });
    const errors = await Promise.all(inputs(48).map((input) => failure(scanner.scan(input))));
    expect(new Set(errors.map((error) => error.kind))).toEqual(new Set(['timeout']));
    const result = await scanner.scan(FileInput.fromBytes(bytes('after the backlog')));
    expect(result.outcome.type).toBe('clean');
    expect(fake.scans.at(-1)?.connection).toBe(2);
    const closing = Date.now();
    await scanner.close();
    expect(Date.now() - closing).toBeLessThan(1_000);
  });

  it('count as load: a session holding more than 1 MiB of them takes no more scans, which go alone', async () => {
    const fake = await stopsReading();
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1, scanTimeoutMs: 5_000 });
    const controllers = Array.from({ length: 48 }, () => new AbortController());
    const stuck = inputs(48).map((input, i) =>
      failure(scanner.scan(input, { signal: controllers[i]?.signal })),
    );
    await backlogged(scanner);
    const result = await scanner.scan(FileInput.fromBytes(bytes('beside the backlog')));
    expect(result.outcome.type).toBe('clean');
    expect(fake.scans.at(-1)).toMatchObject({ connection: 2, inSession: false });
    for (const controller of controllers) controller.abort();
    for (const error of await Promise.all(stuck)) expect(error.kind).toBe('cancelled');
    const closing = Date.now();
    await scanner.close();
    expect(Date.now() - closing).toBeLessThan(1_000);
  });
});

describe('a scan that times out', () => {
  it('while its bytes wait for clamd to read them says it was sending them, not waiting for a verdict', async () => {
    const fake = await stopsReading();
    const scanner = new ClamAvScanner({ port: fake.port, maxSessions: 1, scanTimeoutMs: 100 });
    const errors = await Promise.all(inputs(48).map((input) => failure(scanner.scan(input))));
    expect(errors.at(-1)?.message).toBe(
      `clamav: timed out after 100 ms sending the input to clamd at 127.0.0.1:${fake.port}`,
    );
    await scanner.close();
  });
});

describe('an input read in tiny chunks', () => {
  it('is held as one buffer and sent in frames of chunkSize, not one frame per chunk read', async () => {
    let frames = 0;
    const fake = await fakeClamd({
      chunk() {
        frames++;
      },
    });
    const scanner = new ClamAvScanner({ port: fake.port, chunkSize: 64 * KiB });
    const content = Buffer.alloc(256 * KiB);
    for (let i = 0; i < content.byteLength; i++) content[i] = i % 251;
    const input = FileInput.fromStream(
      (async function* () {
        for (let at = 0; at < content.byteLength; at += 16) yield content.subarray(at, at + 16);
      })(),
    );
    expect((await scanner.scan(input)).outcome.type).toBe('clean');
    expect(fake.scans).toHaveLength(1);
    expect(fake.scans[0]?.content.equals(content)).toBe(true);
    expect(frames).toBe(4);
    await scanner.close();
  });

  it('frames any sizes of chunks into pieces of chunkSize, and gives the same bytes back', () => {
    const chunks = [bytes('abc'), bytes(''), bytes('defghij'), bytes('k')];
    const body = new InstreamBody(chunks, 11, 4);
    const frame = (text: string) => [0, 0, 0, text.length, ...bytes(text)];
    expect([...body.wire]).toEqual([
      ...bytes('zINSTREAM\0'),
      ...frame('abcd'),
      ...frame('efgh'),
      ...frame('ijk'),
      0,
      0,
      0,
      0,
    ]);
    expect([...body.pieces()].map((piece) => Buffer.from(piece).toString())).toEqual([
      'abcd',
      'efgh',
      'ijk',
    ]);
  });
});
