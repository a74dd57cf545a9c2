import { inspect } from 'node:util';
import type { Logger } from '@breakwater/core';

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A pino-shaped logger that keeps every entry, for tests that assert what was (and was not) logged. */
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

  /** The gateway's audit lines (`event: 'gateway_audit'`), optionally of one action. */
  audits(action?: string): Record<string, unknown>[] {
    return this.entries
      .filter(
        (entry) =>
          entry.fields.event === 'gateway_audit' &&
          (action === undefined || entry.fields.action === action),
      )
      .map((entry) => entry.fields);
  }

  /** Every entry as a log line would show it, fields inspected in full (hidden ones too). */
  text(): string {
    return this.entries
      .map(
        (entry) =>
          `${entry.level} ${entry.message} ${inspect(entry.fields, { depth: Number.POSITIVE_INFINITY, showHidden: true })} ${JSON.stringify(entry.fields)}`,
      )
      .join('\n');
  }
}
