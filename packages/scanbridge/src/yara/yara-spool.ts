import { ScanError } from '../errors.js';
import { describeFsError } from '../fs-error.js';
import { joinChunks } from '../input.js';
import { Spool, type SpoolErrors } from '../prepare.js';

/** What YARA-X scans: the bytes in memory, or a private copy on disk. */
export type Held =
  | { readonly bytes: Uint8Array; readonly path?: undefined; remove(): Promise<void> }
  | { readonly bytes?: undefined; readonly path: string; remove(): Promise<void> };

const NOTHING = async (): Promise<void> => {};

/**
 * Reads `chunks` to the end (so the read is hashed whole), keeping them only while they fit in
 * `inMemoryBytes`: the bytes, or undefined past that, with nothing held.
 */
export async function readUpTo(
  chunks: AsyncIterable<Uint8Array>,
  inMemoryBytes: number,
): Promise<Uint8Array | undefined> {
  let parts: Uint8Array[] | undefined = [];
  let size = 0;
  for await (const chunk of chunks) {
    if (parts === undefined) continue;
    parts.push(chunk);
    size += chunk.byteLength;
    if (size > inMemoryBytes) parts = undefined;
  }
  return parts === undefined ? undefined : joinChunks(parts);
}

/**
 * Keeps what `chunks` yields in memory up to `inMemoryBytes`, and past that writes it all to a
 * private temporary file in `spoolDir`, so memory stays flat whatever the size. The copy is
 * removed when this fails, and by `remove()` otherwise (never rejects).
 */
export async function hold(
  chunks: AsyncIterable<Uint8Array>,
  inMemoryBytes: number,
  spoolDir: string,
  engine: string,
): Promise<Held> {
  const parts: Uint8Array[] = [];
  let size = 0;
  let spool: Spool | undefined;
  try {
    for await (const chunk of chunks) {
      if (spool !== undefined) {
        await spool.write(chunk);
        continue;
      }
      parts.push(chunk);
      size += chunk.byteLength;
      if (size > inMemoryBytes) {
        spool = await Spool.create(spoolDir, 'scanbridge-yara-', spoolErrors(engine, spoolDir));
        for (const part of parts.splice(0)) await spool.write(part);
      }
    }
    if (spool === undefined) return { bytes: joinChunks(parts), remove: NOTHING };
    await spool.finish();
    const done = spool;
    return { path: done.path, remove: () => done.remove() };
  } catch (error) {
    await spool?.remove();
    throw error;
  }
}

function spoolErrors(engine: string, spoolDir: string): SpoolErrors {
  return {
    noDirectory: (error) =>
      new ScanError(
        'configuration',
        `${engine}: cannot create a spool directory in ${spoolDir} (option "spoolDir"): ${describeFsError(error)}`,
        { engine, cause: error },
      ),
    writeFailed: (error) =>
      new ScanError(
        'io',
        `${engine}: cannot write the temporary copy to scan in ${spoolDir}: ${describeFsError(error)}`,
        { engine, cause: error },
      ),
  };
}
