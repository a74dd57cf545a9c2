import { describe, expect, it } from 'vitest';
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { ClamdReplySplitter, MAX_REPLY_BYTES } from '../src/clamav/clamd-replies.js';
import { FileInput } from '../src/index.js';
import { useFakeClamd } from './clamd-fake.js';
import { bytes, failure } from './helpers.js';

const fakeClamd = useFakeClamd();

function splitter(maxBytes?: number): { replies: string[]; split: ClamdReplySplitter } {
  const replies: string[] = [];
  return { replies, split: new ClamdReplySplitter((reply) => replies.push(reply), maxBytes) };
}

describe("reading clamd's NUL-terminated replies", () => {
  it('joins a reply split across packets and splits packets holding several', () => {
    const { replies, split } = splitter();
    expect(split.push(Buffer.from('1: stream: O'))).toBe(true);
    expect(split.push(Buffer.from('K'))).toBe(true);
    expect(replies).toEqual([]);
    expect(split.push(Buffer.from('\x002: PONG\x003: stream: Eicar FOUND\x004: ClamAV'))).toBe(
      true,
    );
    expect(replies).toEqual(['1: stream: OK', '2: PONG', '3: stream: Eicar FOUND']);
    expect(split.pending).toBe('4: ClamAV'.length);
    expect(split.push(Buffer.from(' 1.4.6\x00'))).toBe(true);
    expect(replies.at(-1)).toBe('4: ClamAV 1.4.6');
    expect(split.pending).toBe(0);
  });

  it('refuses a reply longer than its bound, across packets or in one, and everything after', () => {
    const across = splitter(8);
    expect(across.split.push(Buffer.from('abcde'))).toBe(true);
    expect(across.split.push(Buffer.from('fghi'))).toBe(false);
    expect(across.split.push(Buffer.from('\x00'))).toBe(false);
    expect(across.replies).toEqual([]);

    const exact = splitter(8);
    expect(exact.split.push(Buffer.from('abcdefgh\x00'))).toBe(true);
    expect(exact.split.push(Buffer.from('abcdefghi\x00'))).toBe(false);
    expect(exact.replies).toEqual(['abcdefgh']);
    expect(MAX_REPLY_BYTES).toBe(4_096);
  });
});

describe('a server that streams without ever ending its reply', () => {
  // Without a bound, this costs a CPU second a second and grows without end until the timeout.
  const garbage = Buffer.alloc(64 * 1024, 0x41);
  const flood = { connected: floodForever, mute: true };
  function floodForever(socket: import('node:net').Socket): void {
    const more = (): void => {
      while (!socket.destroyed && socket.write(garbage)) {}
      if (!socket.destroyed) socket.once('drain', more);
    };
    more();
  }

  it('is ambiguous_response for a scan, pooled or on its own connection, long before the timeout', async () => {
    const fake = await fakeClamd(flood);
    for (const maxSessions of [4, 0]) {
      const scanner = new ClamAvScanner({ port: fake.port, scanTimeoutMs: 10_000, maxSessions });
      const error = await failure(scanner.scan(FileInput.fromBytes(bytes('a file'))));
      expect(error).toMatchObject({
        kind: 'ambiguous_response',
        message: expect.stringContaining(
          `sent more than ${MAX_REPLY_BYTES} bytes without ending its reply`,
        ),
      });
      await scanner.close();
    }
  });

  it('is ambiguous_response for a health check', async () => {
    const fake = await fakeClamd(flood);
    const scanner = new ClamAvScanner({ port: fake.port, scanTimeoutMs: 10_000 });
    expect(await failure(scanner.healthCheck())).toMatchObject({ kind: 'ambiguous_response' });
  });
});
