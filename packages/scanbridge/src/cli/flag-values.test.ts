import { describe, expect, it } from 'vitest';
import { byteSize, wholeNumber } from './flag-values.js';

describe('byteSize', () => {
  it('takes bytes, or K, M and G (1024-based, with or without iB, any case)', () => {
    expect(byteSize('--max-file-size', '1500')).toBe(1500);
    expect(byteSize('--max-file-size', '25M')).toBe(25 * 1024 * 1024);
    expect(byteSize('--max-file-size', '1G')).toBe(1024 ** 3);
    expect(byteSize('--max-file-size', '64k')).toBe(64 * 1024);
    expect(byteSize('--max-file-size', '100MiB')).toBe(100 * 1024 * 1024);
  });

  it('refuses anything else, saying what it takes', () => {
    for (const value of [
      '',
      '0',
      '0M',
      '1.5M',
      '25 M',
      '25MB',
      '1T',
      '-1',
      'lots',
      '99999999999G',
    ]) {
      expect(() => byteSize('--max-file-size', value)).toThrow(
        `--max-file-size must be a size in bytes, or a whole number with K, M or G (25M, 1G), got ${JSON.stringify(value)}`,
      );
    }
  });
});

describe('wholeNumber', () => {
  it('takes a whole number within its range and names the flag otherwise', () => {
    expect(wholeNumber('--timeout', '250', { min: 1, max: 600_000 })).toBe(250);
    for (const value of ['0', '600001', '1e3', ' 5', '']) {
      expect(() =>
        wholeNumber('--timeout', value, { min: 1, max: 600_000, unit: ' of ms' }),
      ).toThrow(
        `--timeout must be a whole number of ms from 1 to 600000, got ${JSON.stringify(value)}`,
      );
    }
  });
});
