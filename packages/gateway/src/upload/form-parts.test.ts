import { describe, expect, it } from 'vitest';
import { FormParts, MAX_PART_HEADER_BYTES } from './form-parts.js';
import type { UploadError } from './upload-error.js';

const BOUNDARY = 'xyz-boundary';

function body(...parts: string[]): Buffer {
  return Buffer.from(
    `preamble\r\n${parts.map((part) => `--${BOUNDARY}\r\n${part}\r\n`).join('')}--${BOUNDARY}--\r\nepilogue --${BOUNDARY}\r\n`,
    'latin1',
  );
}

const FILE = 'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n';

/** Feeds `bytes` in chunks of `size`, as a connection might deliver them. */
function read(bytes: Buffer, size: number): { parts: FormParts; faults: UploadError[] } {
  const faults: UploadError[] = [];
  const parts = new FormParts(BOUNDARY, (error) => faults.push(error));
  for (let at = 0; at < bytes.byteLength; at += size) parts.write(bytes.subarray(at, at + size));
  return { parts, faults };
}

describe('FormParts', () => {
  it('counts the parts across any chunk edges, content that looks like a boundary included', () => {
    const bytes = body(
      `${FILE}line one\r\n-- not the boundary --${BOUNDARY}`,
      'Content-Disposition: form-data; name="note"\r\n\r\nhello',
      `${FILE}`,
    );
    // Around the delimiter's length (CRLF--boundary, 16 bytes) too: where a chunk stops holding a whole one.
    for (const size of [1, 2, 3, 7, 14, 15, 16, 17, 64, bytes.byteLength]) {
      const { parts, faults } = read(bytes, size);
      expect(faults).toEqual([]);
      expect(parts.count).toBe(3);
      expect(parts.closed).toBe(true);
    }
  });

  it('refuses a header past the limit as soon as it passes it, without waiting for its end', () => {
    const long = `--${BOUNDARY}\r\nX-Pad: ${'a'.repeat(MAX_PART_HEADER_BYTES)}`;
    const { parts, faults } = read(Buffer.from(long), 1000);
    expect(faults.map((fault) => fault.code)).toEqual(['BREAKWATER_UPLOAD_PART_HEADER_TOO_LARGE']);
    expect(parts.count).toBe(0);
  });

  it('takes a header just under the limit', () => {
    const pad = `X-Pad: ${'a'.repeat(MAX_PART_HEADER_BYTES - 200)}\r\n`;
    const { parts, faults } = read(body(`${pad}${FILE}x`), 100);
    expect(faults).toEqual([]);
    expect(parts.count).toBe(1);
  });

  it('refuses a part that ends before its header does, and reports only the first fault', () => {
    const bytes = Buffer.from(
      `--${BOUNDARY}\r\nContent-Type: text/plain\r\n--${BOUNDARY}\r\nno colon\r\n\r\n--${BOUNDARY}--`,
    );
    const { faults } = read(bytes, 5);
    expect(faults).toHaveLength(1);
    expect(faults[0]?.message).toMatch(/part 1 ends before its header does/);
  });

  it('reads the boundary of a Content-Type, quoted or not', () => {
    expect(FormParts.boundaryOf('multipart/form-data; boundary=abc')).toBe('abc');
    expect(FormParts.boundaryOf('multipart/form-data; charset=utf-8; boundary="a;b c"')).toBe(
      'a;b c',
    );
    expect(FormParts.boundaryOf('multipart/form-data')).toBeUndefined();
  });
});
