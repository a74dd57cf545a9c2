import type { ScanError } from '../errors.js';

/**
 * Library options that messages name, and the flag a user of the command line sets instead:
 * the library's words stay right for its callers, and `scanbridge` says its own.
 */
const FLAG_FOR = /\bmaxFileSize\b/g;
const FLAG = '--max-file-size';

/** The message as the command line says it. */
export function inFlagTerms(message: string): string {
  return message.replace(FLAG_FOR, FLAG);
}

/** The error for --json, in the command line's words. */
export function errorJson(error: ScanError): Record<string, unknown> {
  return { ...error.toJSON(), message: inFlagTerms(error.message) };
}
