import type { Logger } from '@breakwater/core';

type Level = 'info' | 'warn' | 'error';
const LEVELS: Readonly<Record<Level, number>> = { info: 30, warn: 40, error: 50 };

/**
 * The logger a gateway gets when given none: one JSON line per entry on stderr, pino's shape
 * (`level` as pino numbers it, `time`, `msg`), so `pino-pretty` and log shippers read it as is.
 */
export function jsonLinesLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const entry = (level: Level) => (fields: Record<string, unknown>, message: string) => {
    let line: string;
    try {
      line = JSON.stringify({ level: LEVELS[level], time: Date.now(), ...fields, msg: message });
    } catch {
      // A field JSON cannot write (a cycle, a BigInt) must not lose the line.
      line = JSON.stringify({ level: LEVELS[level], time: Date.now(), msg: message });
    }
    write(`${line}\n`);
  };
  return { info: entry('info'), warn: entry('warn'), error: entry('error') };
}
