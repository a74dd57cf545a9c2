import { describe, expect, it } from 'vitest';
import { RedactedOutput, redact } from './redact.js';

const KEY = 'k3y-9f8e7d6c5b4a';

describe('redact', () => {
  it('replaces every occurrence of the secret, and leaves other text alone', () => {
    expect(redact(`a ${KEY} b ${KEY}`, KEY)).toBe('a [redacted] b [redacted]');
    expect(redact('nothing here', KEY)).toBe('nothing here');
  });
});

describe('RedactedOutput', () => {
  it('lets out complete lines only, redacted', () => {
    const out = new RedactedOutput(KEY);
    expect(out.push(`first ${KEY}\nsecond`)).toBe('first [redacted]\n');
    expect(out.push(' line\n')).toBe('second line\n');
    expect(out.flush()).toBe('');
  });

  it('catches a key split across chunks, at any point', () => {
    for (let cut = 1; cut < KEY.length; cut++) {
      const out = new RedactedOutput(KEY);
      const seen =
        out.push(`authorization: Bearer ${KEY.slice(0, cut)}`) +
        out.push(`${KEY.slice(cut)} end\n`) +
        out.flush();
      expect(seen).toBe('authorization: Bearer [redacted] end\n');
    }
  });

  it('redacts the unfinished last line on flush', () => {
    const out = new RedactedOutput(KEY);
    expect(out.push(`died while writing ${KEY}`)).toBe('');
    expect(out.flush()).toBe('died while writing [redacted]');
    expect(out.flush()).toBe('');
  });

  it('lets a line that never ends out once it is long, still catching a key across the cut', () => {
    const long = 'x'.repeat(8_190);
    for (let cut = 1; cut < KEY.length; cut++) {
      const out = new RedactedOutput(KEY);
      const early = out.push(`${long}${KEY.slice(0, cut)}`);
      expect(early).toBe(cut > 2 ? long.slice(0, long.length + cut - KEY.length + 1) : '');
      const seen = early + out.push(`${KEY.slice(cut)}\n`) + out.flush();
      expect(seen).toBe(`${long}[redacted]\n`);
    }
  });
});
