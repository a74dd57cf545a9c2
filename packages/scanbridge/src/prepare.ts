import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanError } from './errors.js';
import type { ExtraHash } from './hashing.js';
import type { FileInput } from './input.js';
import { MeteredRead, readMetadata } from './metadata.js';
import type { FileMetadata } from './result.js';

export interface PrepareOptions {
  maxBytes: number;
  hashes: readonly ExtraHash[];
  signal: AbortSignal | undefined;
  spoolDir: string;
}

/** The input made ready for its engines: checked, hashed, and readable as often as needed. */
export interface Prepared {
  /** What every engine reads (and the quarantine copies). */
  readonly input: FileInput;
  readonly metadata: FileMetadata;
  /** Removes the spooled copy, if there is one; always called. */
  close(): Promise<void>;
}

/**
 * Path and bytes inputs are checked and hashed, then read again by each engine. A stream is
 * read once, into a private temporary file, and engines read that: a slow upload then never
 * counts against an engine's time limit (or trips its breaker), several engines and the
 * quarantine can all have the whole file, and memory use stays flat whatever its size.
 */
export async function prepareInput(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  if (input.kind === 'stream') return spooled(input, options);
  // Checked first, so a missing, empty or oversized file never reaches (or trips) an engine.
  const metadata = await readMetadata(input, options);
  return { input, metadata, close: async () => {} };
}

async function spooled(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  const dir = await mkdtemp(join(options.spoolDir, 'scanbridge-')).catch((error: unknown) => {
    throw new ScanError(
      'configuration',
      `Cannot create a spool directory in ${options.spoolDir} (option "spoolDir"): ${(error as Error).message}`,
      { cause: error },
    );
  });
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const path = join(dir, 'input');
    const read = new MeteredRead(input, options);
    const handle = await open(path, 'wx', 0o600);
    try {
      for await (const chunk of read.chunks()) await handle.write(chunk);
    } finally {
      await handle.close();
    }
    return { input: input.withPath(path), metadata: read.metadata(), close: remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
