import type { Output } from './render.js';

/**
 * process.stdout or process.stderr for the command line. A reader that went away
 * (`scanbridge scan ... | head -1`) is no failure of the run: its EPIPE is swallowed, later
 * writes are dropped, and the run still ends with its own exit code.
 */
export function processOutput(stream: NodeJS.WriteStream): Output {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed = true;
  });
  return {
    write: (text: string) => closed || stream.write(text),
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
  };
}
