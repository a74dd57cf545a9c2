import { inspect } from 'node:util';
import type { Logger } from '@breakwater/core';

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A pino-shaped logger that keeps every entry, for tests that assert what was (not) logged. */
export class CapturingLogger implements Logger {
  readonly entries: LogEntry[] = [];

  info(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'info', fields, message });
  }

  warn(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'warn', fields, message });
  }

  error(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'error', fields, message });
  }

  /** Every entry as a log line would show it, fields inspected in full. */
  text(): string {
    return this.entries
      .map(
        (entry) =>
          `${entry.level} ${entry.message} ${inspect(entry.fields, { depth: Number.POSITIVE_INFINITY, showHidden: true })}`,
      )
      .join('\n');
  }
}
