import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { bytes, countingStream, failingStream, failure, tempDirs } from '../test/helpers.js';
import { FileInput } from './input.js';

const tempDir = tempDirs();

async function text(input: FileInput): Promise<string> {
  return new TextDecoder().decode(await input.readAll());
}

describe('FileInput.fromPath', () => {
  it('reads the file, as often as asked, and is named after it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'report.pdf');
    await writeFile(path, 'hello file');
    const input = FileInput.fromPath(path);
    expect(input.kind).toBe('path');
    expect(input.filename).toBe('report.pdf');
    expect(input.path).toBe(path);
    expect(await text(input)).toBe('hello file');
    expect(await text(input)).toBe('hello file');
  });

  it('says clearly when the file is missing, a directory, or empty', async () => {
    const dir = await tempDir();
    const missing = await failure(FileInput.fromPath(join(dir, 'nope.txt')).readAll());
    expect(missing.kind).toBe('file_not_found');
    expect(missing.message).toContain('nope.txt');

    const sub = join(dir, 'uploads');
    await mkdir(sub);
    const directory = await failure(FileInput.fromPath(sub).readAll());
    expect(directory.kind).toBe('io');
    expect(directory.message).toMatch(/uploads is a directory/);

    const emptyPath = join(dir, 'empty.txt');
    await writeFile(emptyPath, '');
    const empty = await failure(FileInput.fromPath(emptyPath).readAll());
    expect(empty.kind).toBe('malformed_file');
    expect(empty.message).toMatch(/empty \(0 bytes\): there is nothing to scan/);
  });

  it('refuses a file over the limit from its size, before reading it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'big.bin');
    await writeFile(path, new Uint8Array(1000));
    const error = await failure(FileInput.fromPath(path).readAll({ maxBytes: 999 }));
    expect(error.kind).toBe('file_too_large');
    expect(error.message).toContain('the limit is 999 bytes and it has 1000 bytes');
  });

  it('reads a file whose stat size is 0 but which has content (/proc), and decides from what it read', async () => {
    const status = new TextDecoder().decode(
      await FileInput.fromPath('/proc/self/status').readAll(),
    );
    expect(status).toMatch(/^Name:/);
    const tooLarge = await failure(
      FileInput.fromPath('/proc/self/status').readAll({ maxBytes: 10 }),
    );
    expect(tooLarge.kind).toBe('file_too_large');
    expect(tooLarge.message).toBe(
      '/proc/self/status is too large: the limit is 10 bytes and it has more than that',
    );
  });

  it('rejects a path that is not a string', () => {
    expect(() => FileInput.fromPath('')).toThrow(/path must be a non-empty string, got ""/);
  });
});

describe('FileInput.fromBytes', () => {
  it('reads the bytes and rejects empty ones', async () => {
    expect(await text(FileInput.fromBytes(bytes('abc'), 'a.txt'))).toBe('abc');
    const empty = await failure(FileInput.fromBytes(new Uint8Array(0), 'empty.txt').readAll());
    expect(empty.kind).toBe('malformed_file');
    expect(empty.message).toContain('empty.txt is empty');
  });

  it('rejects what is not bytes', () => {
    expect(() => FileInput.fromBytes('abc' as unknown as Uint8Array)).toThrow(
      /must be a Uint8Array.*got "abc"/,
    );
  });
});

describe('FileInput.fromStream', () => {
  it('reads a Node stream, a web stream and an async generator', async () => {
    const node = FileInput.fromStream(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), {
      filename: 'x.txt',
      sizeHint: 4,
    });
    expect(node.kind).toBe('stream');
    expect(node.sizeHint).toBe(4);
    expect(await text(node)).toBe('abcd');
    const web = new Blob(['web ', 'stream']).stream();
    expect(await text(FileInput.fromStream(web))).toBe('web stream');
  });

  it('can be read once, and says so on a second read', async () => {
    const input = FileInput.fromStream(Readable.from([Buffer.from('once')]));
    expect(await text(input)).toBe('once');
    const error = await failure(input.readAll());
    expect(error.kind).toBe('io');
    expect(error.message).toMatch(/already read; a stream can be read once/);
  });

  it('fails a 0-byte stream: nothing was there to scan', async () => {
    const error = await failure(FileInput.fromStream(Readable.from([])).readAll());
    expect(error.kind).toBe('malformed_file');
    expect(error.message).toContain('the input stream is empty');
  });

  it('fails a stream that errors half-way with io, naming how far it got', async () => {
    const error = await failure(
      FileInput.fromStream(failingStream(2, 'socket hang up'), { filename: 'up.bin' }).readAll(),
    );
    expect(error.kind).toBe('io');
    expect(error.message).toBe('Reading up.bin (stream) failed after 16 bytes: socket hang up');
    expect((error.cause as Error).message).toBe('socket hang up');
  });

  it('stops at the limit without reading the rest of the stream', async () => {
    const source = countingStream(1000, 100);
    const error = await failure(FileInput.fromStream(source.stream).readAll({ maxBytes: 250 }));
    expect(error.kind).toBe('file_too_large');
    expect(source.pulled()).toBe(3);
  });

  it("stops when its signal aborts, with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const input = FileInput.fromStream(countingStream(10, 10).stream);
    const seen: number[] = [];
    const reading = (async () => {
      for await (const chunk of input.chunks({ signal: controller.signal })) {
        seen.push(chunk.byteLength);
        controller.abort(reason);
      }
    })();
    await expect(reading).rejects.toBe(reason);
    expect(seen).toEqual([10]);
  });

  it('rejects chunks that are not bytes and things that are not streams', async () => {
    const strings = Readable.from(['text'], { objectMode: true });
    const error = await failure(FileInput.fromStream(strings).readAll());
    expect(error.message).toMatch(/yielded a string chunk instead of bytes/);
    expect(error.message).not.toContain('text');
    expect(() => FileInput.fromStream({} as never)).toThrow(
      /expected a readable stream or async iterable of bytes/,
    );
    expect(() => FileInput.fromStream(Readable.from([]), { sizeHint: -1 })).toThrow(
      /sizeHint must be an integer >= 0, got -1/,
    );
  });
});
