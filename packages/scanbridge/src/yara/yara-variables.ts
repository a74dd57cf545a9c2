/**
 * The external variables every rule may read, defined at compile time with these defaults and
 * set for each scan from the input's file name: a rule can then say "an executable under a
 * document's name" (`uint16(0) == 0x5A4D and extension matches /^(pdf|docx?)$/`).
 */
export interface YaraVariables {
  /** The file's base name as the caller gave it; '' when it has none. */
  readonly filename: string;
  /**
   * The base name's last extension, lower case, without the dot, read as Windows would save the
   * name (cut at a `:`, trailing dots, white space and invisible characters dropped); '' when it
   * has none.
   */
  readonly extension: string;
}

export const DEFAULT_VARIABLES: YaraVariables = { filename: '', extension: '' };

/** The compiler options, on the main thread and where the scans run: the variables, defined. */
export const COMPILE_OPTIONS = { defineVariables: { ...DEFAULT_VARIABLES } };

/**
 * `C:\uploads\Report.PDF` -> `{ filename: 'Report.PDF', extension: 'pdf' }`. Both separators
 * count, whatever the host: the name comes from a client, not from this file system. A leading
 * dot starts a name (`.bashrc`), not an extension. A value @litko/yara-x would retype is `''`.
 */
export function variablesFor(name: string | undefined): YaraVariables {
  if (name === undefined) return DEFAULT_VARIABLES;
  const filename = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  const saved = savedAs(filename);
  const dot = saved.lastIndexOf('.');
  const extension = dot <= 0 ? '' : saved.slice(dot + 1).toLowerCase();
  return { filename: asString(filename), extension: asString(extension) };
}

/**
 * The name Windows would save: what follows a `:` names an NTFS stream (`invoice.pdf::$DATA`
 * is invoice.pdf), and trailing dots and spaces are dropped (`invoice.pdf. ` is invoice.pdf),
 * so the extension is the one the file is opened by.
 */
function savedAs(filename: string): string {
  const colon = filename.indexOf(':');
  return (colon < 0 ? filename : filename.slice(0, colon)).replace(TRAILING_BLANKS, '');
}

// What a reader cannot see at the end of a name: dots and spaces (Windows drops them), other
// white space (no-break, ideographic, the en/em spaces), the Braille blank, and invisible
// characters. `invoice.pdf\u2800` is judged as invoice.pdf, whatever a file system keeps.
const TRAILING_BLANKS = /[.\s\u2800\u115f\u1160\u3164\uffa0\p{Default_Ignorable_Code_Point}]+$/u;

/**
 * @litko/yara-x 0.3.0 reads every string scan variable that parses as an integer (`2024`,
 * `+1`, `007`) or a boolean (`true`, `FALSE`) as that type, which a string variable then
 * refuses: the scan fails. It has no call that keeps such a value a string, so the rules see
 * `''` instead (a rule cannot match the extension `001`); every other value goes as it is.
 */
const RETYPED = /^([+-]?[0-9]+|true|false)$/i;

function asString(value: string): string {
  return RETYPED.test(value) ? '' : value;
}
