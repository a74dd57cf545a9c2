/** Where the command line writes: process.stdout / process.stderr, or a capture in tests. */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

/**
 * Text from outside (file names, engine messages) made safe for a terminal: control
 * characters, which could move the cursor or rewrite earlier lines, and the invisible
 * characters that reorder, break or hide text (bidi marks and overrides, line and paragraph
 * separators, zero-width and soft-hyphen marks) are shown escaped. Only ASCII controls get
 * `\xHH`; the rest get `\uHHHH`, so U+0085 never reads like display-path.ts's escape of a
 * byte 0x85 that is not UTF-8.
 */
export function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
    /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g,
    (c) => {
      const code = c.charCodeAt(0);
      if (c === '\t') return '\\t';
      return code < 0x80
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`;
    },
  );
}

// One thing a person sees as one: an escape (display-path.ts's `\xHH` and `\\`, printable's
// `\xHH`, `\uHHHH` and `\t`) or a code point, so a shortened name never shows half of one.
const SHOWN_UNIT = /\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|t|\\)|[\s\S]/gu;

/**
 * The end of a printable text in at most `width` columns (a code point taken as one), with
 * `...` in front when something was cut; never part of an escape.
 */
export function shortened(text: string, width: number): string {
  if ([...text].length <= width) return text;
  const units = text.match(SHOWN_UNIT) ?? [];
  let kept = '';
  let used = 3;
  for (let i = units.length - 1; i >= 0; i--) {
    const unit = units[i] as string;
    const columns = unit.length > 1 && unit.startsWith('\\') ? unit.length : 1;
    if (used + columns > width) break;
    kept = unit + kept;
    used += columns;
  }
  return `...${kept}`;
}

/** Left-aligned columns; every cell is made printable first. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [header, ...rows].map((row) => row.map(printable));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal, one plain line per file
 * elsewhere (a log, a CI job), so a long run shows where it is either way.
 */
export class Progress {
  private done = 0;
  private readonly out: Output;
  private readonly total: number;

  constructor(out: Output, total: number) {
    this.out = out;
    this.total = total;
  }

  /** One more file finished. */
  step(path: string, outcome: string): void {
    this.done++;
    if (this.out.isTTY !== true) {
      this.out.write(`[${this.done}/${this.total}] ${printable(path)}: ${outcome}\n`);
      return;
    }
    // One line, always: a line that wraps would not be redrawn in place.
    const columns = this.out.columns ?? 80;
    const count = `${this.done}/${this.total}`;
    const width = Math.min(20, columns - count.length - 4);
    const filled = Math.round((this.done / this.total) * width);
    const bar = width < 5 ? count : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${count}`;
    let line = bar.slice(0, columns - 1);
    const room = columns - line.length - 2;
    if (room >= 4) line += ` ${shortened(printable(path), room)}`;
    this.out.write(`\r\u001b[2K${line}`);
  }

  /** Clears the bar, so the table starts on a clean line. */
  finish(): void {
    if (this.out.isTTY === true && this.done > 0) this.out.write('\r\u001b[2K');
  }
}
