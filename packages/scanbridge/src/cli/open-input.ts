import { ScanError } from '../errors.js';
import { FileInput } from '../input.js';
import { type OpenFile, openRegularFile, readOpenFile } from '../open-file.js';
import { stringPath } from './display-path.js';
import type { FoundFile } from './files.js';

export interface OpenedInput {
  readonly input: FileInput;
  /**
   * For the scan of `input`: aborts, with a timeout error as its reason, when the file was not
   * read within the limit. Undefined where the scan manager bounds the reading itself.
   */
  readonly signal: AbortSignal | undefined;
  /**
   * Releases what opening took, without waiting for a read still in flight; safe once the
   * scan is over, however it ended.
   */
  close(): Promise<void>;
}

const NOTHING_TO_CLOSE = async (): Promise<void> => {};

/**
 * The file as a scan input. A path with a string form is a path input: the scan manager opens
 * and reads it within the scan's time limit. A name that is not valid UTF-8 has none (Node
 * encodes string paths as UTF-8, and FileInput.fromPath takes a string), so that file is
 * opened here, by its bytes, the way the manager opens a path (checked by path first, so a
 * device is never opened; opened without blocking; the handle checked again), and handed over
 * as a stream read from that handle. The manager reads a stream at its sender's pace, so the
 * open and the read are bounded here, by `limitMs`: a hung mount ends the scan with a timeout.
 */
export async function openInput(file: FoundFile, limitMs: number): Promise<OpenedInput> {
  const path = stringPath(file.path);
  if (path !== undefined) {
    return { input: FileInput.fromPath(path), signal: undefined, close: NOTHING_TO_CLOSE };
  }
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(notReadInTime(file.shown, limitMs)), limitMs);
  const expired = new Promise<never>((_, reject) => {
    deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason), { once: true });
  });
  // Only raced against the open below; the scan hears of a late read through the signal.
  expired.catch(() => {});
  const opening = openRegularFile(file.path, file.shown);
  let opened: OpenFile;
  try {
    opened = await Promise.race([opening, expired]);
  } catch (error) {
    clearTimeout(timer);
    // An open that ends after the limit holds a handle nobody will read.
    opening.then(
      (late) => late.handle.close().catch(() => {}),
      () => {},
    );
    throw error;
  }
  async function* readInTime(): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      yield* readOpenFile(opened);
    } finally {
      // Read to its end (or given up): the engines that read it next keep their own limits.
      clearTimeout(timer);
    }
  }
  const input = FileInput.fromStream(readInTime(), {
    filename: file.shown.slice(file.shown.lastIndexOf('/') + 1),
    sizeHint: opened.size === 0 ? undefined : opened.size,
  });
  return {
    input,
    signal: deadline.signal,
    close: async () => {
      clearTimeout(timer);
      // Not awaited: Node's close waits for every read in flight, which on a hung mount never
      // ends; Node closes the descriptor itself once they do.
      void opened.handle.close().catch(() => {});
    },
  };
}

function notReadInTime(shown: string, ms: number): ScanError {
  return new ScanError(
    'timeout',
    `cannot read ${shown} within ${ms} ms, the scan's time limit (a stuck disk or a hung mount)`,
  );
}
