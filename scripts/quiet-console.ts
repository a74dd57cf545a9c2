// A vitest setup file: a test whose code under test writes to console.warn or console.error
// fails, naming what was written. Expected warnings are the test's to capture and assert
// (a logger, or a spy with its own implementation), so `npm test` prints nothing stray.
import { format } from 'node:util';
import { afterEach, beforeEach } from 'vitest';

const LEVELS = ['warn', 'error'] as const;

export interface ConsoleWatch {
  /** Puts the console back and returns what was written to it meanwhile. */
  stop(): string[];
}

/** Records console.warn and console.error instead of printing them. */
export function watchConsole(): ConsoleWatch {
  const written: string[] = [];
  const saved = LEVELS.map((level) => [level, console[level]] as const);
  for (const level of LEVELS) {
    console[level] = (...args: unknown[]) => {
      written.push(`console.${level}: ${format(...args)}`);
    };
  }
  return {
    stop() {
      for (const [level, original] of saved) console[level] = original;
      return written;
    },
  };
}

let watch: ConsoleWatch | undefined;

beforeEach(() => {
  watch = watchConsole();
});

afterEach(() => {
  const written = watch?.stop() ?? [];
  watch = undefined;
  if (written.length > 0) {
    throw new Error(
      `the code under test wrote to the console (capture and assert expected warnings):\n${written.join('\n')}`,
    );
  }
});
