/** Where the command line writes: process.stdout / process.stderr, or a capture in tests. */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

/**
 * Text from outside (file names, engine messages) made safe for a terminal: control
 * characters, which could move the cursor or rewrite earlier lines, and the invisible
 * characters that reorder or hide text (bidi overrides, zero-width marks) are shown escaped.
 */
export function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
    /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g,
    (c) => {
      const code = c.charCodeAt(0);
      if (c === '\t') return '\\t';
      return code < 0x100
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`;
    },
  );
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
    let line = width < 5 ? count : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${count}`;
    const room = columns - line.length - 2;
    const name = printable(path);
    if (room >= 4) {
      line += ` ${name.length > room ? `...${name.slice(name.length - (room - 3))}` : name}`;
    }
    this.out.write(`\r\u001b[2K${line.slice(0, columns - 1)}`);
  }

  /** Clears the bar, so the table starts on a clean line. */
  finish(): void {
    if (this.out.isTTY === true && this.done > 0) this.out.write('\r\u001b[2K');
  }
}
