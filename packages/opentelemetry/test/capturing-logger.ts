import type { Logger } from '@breakwater/core';

/** The warn-only logger the instruments take, keeping what it is told for the test to assert. */
export class CapturingLogger implements Pick<Logger, 'warn'> {
  readonly entries: { level: 'warn'; fields: Record<string, unknown>; message: string }[] = [];

  warn(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'warn', fields, message });
  }
}
