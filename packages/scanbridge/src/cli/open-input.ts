import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ScanError } from '../errors.js';
import { describeFsError } from '../fs-error.js';
import { FileInput } from '../input.js';
import { stringPath } from './display-path.js';
import type { FoundFile } from './files.js';

export interface OpenedInput {
  readonly input: FileInput;
  /** Releases what opening took; safe once the scan is over, however it ended. */
  close(): Promise<void>;
}

const NOTHING_TO_CLOSE = async (): Promise<void> => {};

/**
 * The file as a scan input. A path with a string form is a path input. A name that is not
 * valid UTF-8 has none (Node encodes string paths as UTF-8, and FileInput.fromPath takes a
 * string), so that file is opened here by its bytes, checked to be a regular file, and handed
 * over as a stream: the manager spools it, and every engine still reads the whole file.
 */
export async function openInput(file: FoundFile): Promise<OpenedInput> {
  const path = stringPath(file.path);
  if (path !== undefined) return { input: FileInput.fromPath(path), close: NOTHING_TO_CLOSE };
  const name = file.shown.slice(file.shown.lastIndexOf('/') + 1);
  // Non-blocking, so a FIFO swapped in for the file cannot hang the open.
  const handle = await open(file.path, constants.O_RDONLY | constants.O_NONBLOCK).catch(
    (error: unknown) => {
      throw new ScanError('io', `cannot read ${file.shown}: ${describeFsError(error)}`, {
        cause: error,
      });
    },
  );
  const close = () => handle.close().catch(() => {});
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ScanError('io', `${file.shown} is not a regular file`);
    const input = FileInput.fromStream(handle.createReadStream({ autoClose: false }), {
      filename: name,
      sizeHint: info.size,
    });
    return { input, close };
  } catch (error) {
    await close();
    throw error;
  }
}
