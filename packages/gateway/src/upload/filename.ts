import { UploadError } from './upload-error.js';

/** Most file systems' limit for one name, in bytes of UTF-8. */
export const MAX_FILENAME_BYTES = 255;

// C0 controls, DEL, C1 controls, and lone surrogates (no character at all: they cannot be
// written as UTF-8, so the name a reviewer sees would not be the name that was sent).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;
// Unicode's bidirectional controls (LRM, RLM, the embeddings and overrides, the isolates):
// invisible, they reorder what follows, so `invoice\u202Efdp.exe` shows as "invoiceexe.pdf" to
// a reviewer while it is an .exe.
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// Every other format character (zero-width spaces and joiners, the word joiner, the BOM, the
// soft hyphen, tags) and every default-ignorable one (variation selectors, the combining
// grapheme joiner, the Hangul fillers): invisible, so `report.pdf\u200B` shows as report.pdf
// while its extension is not pdf, and it escapes the rules that judge a file by its extension.
const FORMAT = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const ESCAPED = /[\u007f-\u009f\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
const SHOWN_CHARACTERS = 80;

/**
 * The name an uploaded file is known by (in reports, the quarantine, a reviewer's download):
 * a bare name, never a path. Throws an UploadError (400) naming what is wrong for a name that
 * is missing or empty, `.` or `..`, contains `/` or `\` (so `../` too), a control character
 * (C0, DEL, C1), a Unicode bidirectional control (U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069) or any other invisible character (Unicode's Cf and Default_Ignorable_Code_Point:
 * U+00AD, U+034F, U+200B-U+200D, U+2060-U+2064, U+3164, U+FE00-U+FE0F, U+FEFF, ...), or half a surrogate pair, or is longer than 255 bytes of UTF-8. Returns it as
 * it is: nothing is stripped or rewritten, so the name checked is the name used.
 */
export function checkFilename(name: string | undefined): string {
  if (name === undefined || name.length === 0) {
    throw badName('The file has no name: send one (X-Filename, or the filename of the form part)');
  }
  if (name === '.' || name === '..') {
    throw badName(`The file name ${show(name)} is not a file name: send the file's own name`);
  }
  if (name.includes('/') || name.includes('\\')) {
    throw badName(
      `The file name ${show(name)} contains a path separator (/ or \\): send the bare name, without directories`,
    );
  }
  if (FORBIDDEN.test(name)) {
    throw badName(
      `The file name ${show(name)} contains a control character or an unpaired surrogate: send a name of printable characters`,
    );
  }
  const bidi = BIDI.exec(name)?.[0];
  if (bidi !== undefined) {
    throw badName(
      `The file name ${show(name)} contains the Unicode bidirectional control ${codePoint(bidi)}, which makes it display as another name: send the name without it`,
    );
  }
  const format = FORMAT.exec(name)?.[0];
  if (format !== undefined) {
    throw badName(
      `The file name ${show(name)} contains the invisible character ${codePoint(format)}, which hides what the name really is: send the name without it`,
    );
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_FILENAME_BYTES) {
    throw badName(
      `The file name ${show(name)} is ${bytes} bytes long (UTF-8); the limit is ${MAX_FILENAME_BYTES}: send a shorter name`,
    );
  }
  return name;
}

function badName(message: string): UploadError {
  return new UploadError('BREAKWATER_UPLOAD_BAD_FILENAME', message);
}

/** `U+202E`. */
function codePoint(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The name quoted, every control and format character escaped, cut short when long: safe in any log line. */
export function show(name: string): string {
  const cut = name.length > SHOWN_CHARACTERS;
  const quoted = JSON.stringify(cut ? name.slice(0, SHOWN_CHARACTERS) : name).replace(
    ESCAPED,
    (c) => {
      const hex = (c.codePointAt(0) ?? 0).toString(16);
      return hex.length > 4 ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
    },
  );
  return cut ? `${quoted}... (${name.length} characters)` : quoted;
}
