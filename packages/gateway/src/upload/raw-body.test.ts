import { describe, expect, it } from 'vitest';
import { decodeFilename } from './raw-body.js';

/** A header as Node hands it over: each byte one latin1 character. */
const asHeader = (bytes: Buffer): string => bytes.toString('latin1');

describe('decodeFilename (X-Filename)', () => {
  it('decodes percent-encoded UTF-8, as encodeURIComponent writes it', () => {
    expect(decodeFilename(encodeURIComponent('résumé 2024.pdf'))).toBe('résumé 2024.pdf');
    expect(decodeFilename('%E6%97%A5%E6%9C%AC.txt')).toBe('日本.txt');
  });

  it('reads raw UTF-8 bytes in the header as UTF-8', () => {
    expect(decodeFilename(asHeader(Buffer.from('naïve café.txt')))).toBe('naïve café.txt');
  });

  it('keeps a latin1 header that is not UTF-8 as it is', () => {
    expect(decodeFilename(asHeader(Buffer.from([0x72, 0xe9, 0x73])))).toBe('rés');
  });

  it('takes a name with a stray % literally', () => {
    expect(decodeFilename('100%.txt')).toBe('100%.txt');
    expect(decodeFilename('50% off %zz.pdf')).toBe('50% off %zz.pdf');
  });

  it('decodes what the name check must then see: separators and NUL come out as themselves', () => {
    expect(decodeFilename('..%2F..%2Fetc%2Fpasswd')).toBe('../../etc/passwd');
    expect(decodeFilename('evil%00.txt')).toBe('evil\u0000.txt');
  });
});
