import type { ScanError } from '../errors.js';

/**
 * Library options that messages name, and what a user of the command line sets or knows
 * instead: the library's words stay right for its callers, and `scanbridge` says its own.
 */
const FLAG_FOR: readonly (readonly [RegExp, string])[] = [
  [/\bmaxFileSize\b/g, '--max-file-size'],
  [/\boption "baseUrl"|\bbaseUrl\b/g, '--virustotal-url'],
  [/\bscanTimeoutMs\b/g, "the command line's per-scan limit"],
];

/** The message as the command line says it. */
export function inFlagTerms(message: string): string {
  let said = message;
  for (const [option, flag] of FLAG_FOR) said = said.replace(option, flag);
  return said;
}

/** The error for --json, in the command line's words. */
export function errorJson(error: ScanError): Record<string, unknown> {
  return { ...error.toJSON(), message: inFlagTerms(error.message) };
}
