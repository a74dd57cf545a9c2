import { describe, expect, it } from 'vitest';
import { checkFilename, MAX_FILENAME_BYTES } from './filename.js';
import { UploadError } from './upload-error.js';

function refusal(name: string | undefined): UploadError {
  try {
    checkFilename(name);
  } catch (error) {
    if (error instanceof UploadError) return error;
    throw error;
  }
  throw new Error(`checkFilename accepted ${JSON.stringify(name)}`);
}

describe('checkFilename', () => {
  it.each([
    'report.pdf',
    'résumé 2024 (final).docx',
    '日本語のファイル.txt',
    '..hidden',
    'a..b',
    '.env',
    'x'.repeat(MAX_FILENAME_BYTES),
    '😀.png',
    // Right-to-left text is fine; only the invisible controls that reorder it are refused.
    'تقرير.pdf',
  ])('accepts %j as it is', (name) => {
    expect(checkFilename(name)).toBe(name);
  });

  it.each([
    ['', 'has no name'],
    ['.', 'is not a file name'],
    ['..', 'is not a file name'],
    ['../etc/passwd', 'path separator'],
    ['..\\windows\\system32', 'path separator'],
    ['dir/file.txt', 'path separator'],
    ['/abs', 'path separator'],
    ['nul\u0000byte.txt', 'control character'],
    ['line\nbreak.txt', 'control character'],
    ['tab\t.txt', 'control character'],
    ['esc\u001b[31m.txt', 'control character'],
    ['del\u007f.txt', 'control character'],
    ['c1\u0085.txt', 'control character'],
    ['c1\u009b.txt', 'control character'],
    ['half\ud800.txt', 'unpaired surrogate'],
    // Shown as "invoiceexe.pdf" in the quarantine and the dashboard: the name is invoice?fdp.exe.
    ['invoice\u202efdp.exe', 'bidirectional control'],
    ['a\u200eb.pdf', 'bidirectional control'],
    ['a\u200fb.pdf', 'bidirectional control'],
    ['a\u202ab.pdf', 'bidirectional control'],
    ['a\u202db.pdf', 'bidirectional control'],
    ['a\u2066b.pdf', 'bidirectional control'],
    ['a\u2069b.pdf', 'bidirectional control'],
    // Invisible format characters: `report.pdf\u200b` shows as report.pdf, yet its extension is
    // `pdf\u200b`, so an executable under it escaped the executable-as-document rule.
    ['report.pdf\u200b', 'invisible character U+200B'],
    ['a\u200cb.pdf', 'invisible character U+200C'],
    ['a\u200db.pdf', 'invisible character U+200D'],
    ['a\u2060b.pdf', 'invisible character U+2060'],
    ['\ufeffreport.pdf', 'invisible character U+FEFF'],
    ['re\u00adport.exe', 'invisible character U+00AD'],
    ['a\u2064b.pdf', 'invisible character U+2064'],
    ['tag\u{e0041}.pdf', 'invisible character U+E0041'],
    ['invoice.pdf\ufe0f', 'invisible character U+FE0F'],
    ['invoice.pdf\u3164', 'invisible character U+3164'],
    ['invoice.pdf\u034f', 'invisible character U+034F'],
    // Unassigned, between the bidi isolates, and ignorable: no font draws it.
    ['a\u2065b.txt', 'invisible character U+2065'],
  ])('refuses %j (%s) with a 400', (name, reason) => {
    const error = refusal(name);
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('BREAKWATER_UPLOAD_BAD_FILENAME');
    expect(error.message).toContain(reason);
  });

  it('refuses a missing name', () => {
    expect(refusal(undefined).message).toContain('has no name');
  });

  it('counts the limit in bytes of UTF-8, not characters', () => {
    const name = 'é'.repeat(128); // 128 characters, 256 bytes
    expect(refusal(name).message).toContain('256 bytes long');
    expect(checkFilename('é'.repeat(127))).toHaveLength(127);
  });

  it('names the file in the message with every control character escaped', () => {
    const message = refusal('a\u0000b\u001b\u007f\u0085\nc').message;
    expect(message).toContain('"a\\u0000b\\u001b\\u007f\\u0085\\nc"');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('cuts a long name short in the message', () => {
    const message = refusal(`${'x'.repeat(300)}/`).message;
    expect(message).toContain(`"${'x'.repeat(80)}"... (301 characters)`);
    expect(message).not.toContain('x'.repeat(81));
  });

  it('names the bidirectional control it refuses, escaped, so the message reads as sent', () => {
    const message = refusal('invoice\u202efdp.exe').message;
    expect(message).toContain('"invoice\\u202efdp.exe"');
    expect(message).toContain('U+202E');
    expect(message).not.toMatch(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
  });

  it('escapes the invisible character it refuses, so the message shows where it is', () => {
    const message = refusal('report.pdf\u200b').message;
    expect(message).toContain('"report.pdf\\u200b"');
    expect(message).not.toMatch(/\p{Cf}/u);
    expect(refusal('invoice.pdf\ufe0f').message).toContain('"invoice.pdf\\ufe0f"');
    expect(refusal('tag\u{e0041}.pdf').message).toContain('"tag\\u{e0041}.pdf"');
  });
});
