import { describe, expect, it } from 'vitest';
import { displayPath, stringPath } from './display-path.js';

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('displayPath', () => {
  it('shows valid UTF-8 as itself and every other byte as \\xHH', () => {
    expect(displayPath(Buffer.from('inbox/отчёт 📄.txt'))).toBe('inbox/отчёт 📄.txt');
    expect(displayPath(bytes('report', [0xff], '.txt'))).toBe('report\\xff.txt');
    // A replacement character that is really in the name stays one, and differs from a bad byte.
    expect(displayPath(Buffer.from('report\ufffd.txt'))).toBe('report\ufffd.txt');
  });

  it('escapes a backslash, so a byte and the four characters that show it stay apart', () => {
    expect(displayPath(Buffer.from('report\\xff.txt'))).toBe('report\\\\xff.txt');
    expect(displayPath(bytes('a\\', [0xff]))).toBe('a\\\\\\xff');
  });

  it('escapes each byte of a sequence that is not UTF-8: cut short, overlong, a surrogate', () => {
    expect(displayPath(bytes('a', [0xe2, 0x82], 'b'))).toBe('a\\xe2\\x82b');
    expect(displayPath(bytes([0xc0, 0xaf]))).toBe('\\xc0\\xaf');
    expect(displayPath(bytes([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80');
    expect(displayPath(bytes([0xf4, 0x90, 0x80, 0x80]))).toBe('\\xf4\\x90\\x80\\x80');
  });
});

describe('stringPath', () => {
  it('gives a string only where Node would encode it back to the same bytes', () => {
    expect(stringPath(Buffer.from('dir/ok.txt'))).toBe('dir/ok.txt');
    expect(stringPath(bytes('dir/', [0xff]))).toBeUndefined();
  });
});
