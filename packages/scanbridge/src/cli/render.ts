/** Where the command line writes: process.stdout / process.stderr, or a capture in tests. */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

/**
 * Text from outside (file names, engine messages) made safe for a terminal: control
 * characters, which could move the cursor or rewrite earlier lines, are shown escaped.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) =>
    c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
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
    const width = 20;
    const filled = Math.round((this.done / this.total) * width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total} `;
    const room = Math.max(0, (this.out.columns ?? 80) - bar.length - 1);
    const name = printable(path);
    this.out.write(`\r\u001b[2K${bar}${name.length > room ? `...${name.slice(-room + 3)}` : name}`);
  }

  /** Clears the bar, so the table starts on a clean line. */
  finish(): void {
    if (this.out.isTTY === true && this.done > 0) this.out.write('\r\u001b[2K');
  }
}
