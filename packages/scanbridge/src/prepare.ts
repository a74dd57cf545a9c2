import { mkdtemp, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fanOut } from './fan-out.js';
import type { ExtraHash } from './hashing.js';
import type { FileInput } from './input.js';
import { MeteredRead, readMetadata } from './metadata.js';
import type { FilesystemQuarantine, QuarantineEntry, QuarantineRecord } from './quarantine.js';
import type { FileMetadata } from './result.js';

export interface PrepareOptions {
  /** Engines that will read the input. */
  readers: number;
  /** Engines read one after another (or fewer at once than there are engines). */
  replay: boolean;
  maxBytes: number;
  hashes: readonly ExtraHash[];
  signal: AbortSignal | undefined;
  spoolDir: string;
  /** Keep a copy for this quarantine until the policy has decided. */
  quarantine: FilesystemQuarantine | undefined;
}

/** A copy of the input that the quarantine can take once the policy has spoken. */
export interface Keep {
  commit(entry: QuarantineEntry): Promise<QuarantineRecord>;
}

/** The input made ready for its engines: one input each, the manager's own reading, cleanup. */
export interface Prepared {
  readonly inputs: readonly FileInput[];
  /** Engine `index` is done with its input. */
  release(index: number): void;
  /** Waits for the manager's own read; throws the input's error (missing, empty, too large ...). */
  finish(): Promise<FileMetadata>;
  readonly keep: Keep | undefined;
  /** Removes spooled and staged copies; always called. */
  close(): Promise<void>;
}

const noop = (): void => {};

/**
 * Path and bytes inputs are read again by each engine, after the manager has checked and
 * hashed them. A stream is read once: live, fanned out to every engine at the pace of the
 * slowest, or, when engines take turns, spooled to a private temporary file first.
 */
export async function prepareInput(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  if (input.kind !== 'stream') return reusable(input, options);
  if (options.replay) return spooled(input, options);
  return live(input, options);
}

async function reusable(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  const { quarantine } = options;
  // Checked first, so a missing, empty or oversized file never reaches (or trips) an engine.
  const metadata = await readMetadata(input, options);
  return {
    inputs: Array.from({ length: options.readers }, () => input),
    release: noop,
    finish: async () => metadata,
    keep:
      quarantine === undefined ? undefined : { commit: (entry) => quarantine.store(input, entry) },
    close: async () => {},
  };
}

async function spooled(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  const dir = await mkdtemp(join(options.spoolDir, 'scanbridge-'));
  const path = join(dir, 'input');
  let metadata: FileMetadata;
  try {
    const read = new MeteredRead(input, options);
    const handle = await open(path, 'wx', 0o600);
    try {
      for await (const chunk of read.chunks()) await handle.write(chunk);
    } finally {
      await handle.close();
    }
    metadata = read.metadata();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const copy = input.withPath(path);
  const { quarantine } = options;
  return {
    inputs: Array.from({ length: options.readers }, () => copy),
    release: noop,
    finish: async () => metadata,
    keep:
      quarantine === undefined ? undefined : { commit: (entry) => quarantine.store(copy, entry) },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

async function live(input: FileInput, options: PrepareOptions): Promise<Prepared> {
  const { readers, quarantine } = options;
  const fan = fanOut(input, readers + (quarantine === undefined ? 1 : 2));
  const own = fan.inputs[readers] as FileInput;
  // Our own read enforces the size limit: when it fails, every engine's branch fails with it.
  const failOnError = <T>(work: Promise<T>): Promise<T> =>
    work.catch((error: unknown) => {
      fan.abort(error);
      throw error;
    });
  const metadata = failOnError(readMetadata(own, options));
  const staged =
    quarantine === undefined
      ? undefined
      : failOnError(quarantine.stage(fan.inputs[readers + 1] as FileInput));
  // Handled now and rethrown by finish(): a failure must not surface as an unhandled rejection.
  metadata.catch(noop);
  staged?.catch(noop);
  return {
    inputs: fan.inputs.slice(0, readers),
    release: fan.release,
    finish: async () => {
      await staged;
      return metadata;
    },
    keep:
      staged === undefined ? undefined : { commit: async (entry) => (await staged).commit(entry) },
    close: async () => {
      fan.abort(new Error('scan finished'));
      const file = await staged?.catch(() => undefined);
      await file?.discard();
    },
  };
}
