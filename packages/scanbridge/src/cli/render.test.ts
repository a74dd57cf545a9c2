import { describe, expect, it } from 'vitest';
import { Progress, printable, shortened } from './render.js';

describe('printable', () => {
  it('escapes the characters that break, hide or reorder a line', () => {
    expect(printable('a\u2028b\u2029c')).toBe('a\\u2028b\\u2029c');
    expect(printable('in\u00advoice\u061c.pdf')).toBe('in\\u00advoice\\u061c.pdf');
    expect(printable('tab\there\u001b[2J')).toBe('tab\\there\\x1b[2J');
  });

  it('gives a C1 control \\u, so it never reads like the escape of a byte that is not UTF-8', () => {
    expect(printable('a\u0085b')).toBe('a\\u0085b');
  });
});

describe('shortened', () => {
  it('keeps the end within the width, and never half of an escape', () => {
    expect(shortened('short.txt', 20)).toBe('short.txt');
    expect(shortened('abcdefgh\\x1bij', 7)).toBe('...ij');
    expect(shortened('abcdefgh\\x1bij', 9)).toBe('...\\x1bij');
    expect(shortened('abcdefgh\\u202eij', 8)).toBe('...ij');
    expect(shortened('a\\\\b\\\\c.txt', 9)).toBe('...c.txt');
    expect(shortened('a\\\\b\\\\c.txt', 10)).toBe('...\\\\c.txt');
    expect(shortened('📄📄📄📄📄📄', 5)).toBe('...📄📄');
  });
});

describe('Progress on a terminal', () => {
  it('draws one line that fits, with the name cut only between escapes', () => {
    const name = `inbox/${'x'.repeat(30)}\u001b[2Jevil\\xff.txt`;
    for (let columns = 32; columns <= 70; columns++) {
      const lines: string[] = [];
      const progress = new Progress(
        { write: (text: string) => lines.push(text), isTTY: true, columns },
        1,
      );
      progress.step(name, 'clean');
      const drawn = (lines[0] ?? '').replace('\r\u001b[2K', '');
      expect(drawn.length).toBeLessThan(columns);
      const rest = drawn.slice(drawn.indexOf('...') + 3);
      expect(printable(name).endsWith(rest)).toBe(true);
      // Never the tail of \x1b or of \xff.
      expect({ columns, rest }).not.toEqual({
        columns,
        rest: expect.stringMatching(/^(?:x1b|1b|b\[|xff|ff\.|f\.)/),
      });
    }
  });
});
