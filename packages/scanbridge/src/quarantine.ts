import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, systemClock } from '@breakwater/core';
import { describeValue } from '@breakwater/core/validate';
import { ScanError } from './errors.js';
import { FileInput } from './input.js';
import { MeteredRead } from './metadata.js';
import { type OpenFile, openRegularFile, readOpenFile } from './open-file.js';
import type { ScanReport } from './report.js';
import type { FileMetadata } from './result.js';

const DAY_MS = 86_400_000;
const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TEMP_PREFIX = '.tmp-';
// A temporary file this old belongs to a writer that died; younger ones may still be in use.
// Measured against file mtimes, so in wall-clock time, never the injected clock.
const STALE_TEMP_MS = 3_600_000;
const HASH_CHUNK_BYTES = 64 * 1024;

export interface QuarantineRecord {
  readonly id: string;
  readonly sha256: string;
  readonly size: number;
  readonly filename?: string;
  readonly mimeType?: string;
  readonly reason: string;
  readonly tenantId?: string;
  /** Epoch milliseconds. */
  readonly quarantinedAt: number;
  readonly expiresAt: number;
  /** The scan that led here, when there was one. */
  readonly report?: ScanReport;
}

export interface QuarantineEntry {
  readonly reason: string;
  readonly report?: ScanReport | undefined;
  readonly tenantId?: string | undefined;
  /** Overrides the store's retention for this file. */
  readonly retentionMs?: number | undefined;
}

export interface QuarantineFilter {
  readonly tenantId?: string;
  readonly sha256?: string;
  /** true: only expired records; false: only live ones. */
  readonly expired?: boolean;
  /** Only records quarantined at or after this epoch ms. */
  readonly since?: number;
}

export interface FilesystemQuarantineOptions {
  /** How long files are kept before `cleanupExpired()` removes them. Default 30 days. */
  retentionMs?: number | undefined;
  clock?: Clock | undefined;
}

/** A quarantined file and its record, from `retrieve`. */
export interface RetrievedFile {
  readonly record: QuarantineRecord;
  /**
   * The file, already checked against the record, read from the handle `retrieve` opened as it
   * is consumed (never whole into memory). It is hashed again on the way, for a writer that
   * changes the file after `retrieve`: such bytes fail the read (a ScanError `io` whose cause is
   * a QuarantineError `integrity`) before its last chunk is handed over. A stream input, so it
   * is read once: `retrieve` again to read it again. Reading it to its end (or stopping a read
   * part-way) closes the file.
   */
  readonly input: FileInput;
  /** Closes the file without reading `input` (it can then no longer be read). */
  close(): Promise<void>;
}

/** What `cleanupExpired` did. */
export interface CleanupResult {
  /** Ids of the expired files removed, with their records. */
  readonly removed: readonly string[];
  /** Records that could not be read or removed (a corrupt record, say): left as they are. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

export type QuarantineErrorKind = 'not_found' | 'integrity' | 'invalid_id' | 'corrupt_record';

export class QuarantineError extends Error {
  readonly kind: QuarantineErrorKind;
  constructor(kind: QuarantineErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }

  /** A stable code: `SCANBRIDGE_QUARANTINE_INTEGRITY`, ... */
  get code(): string {
    return `SCANBRIDGE_QUARANTINE_${this.kind.toUpperCase()}`;
  }
}
QuarantineError.prototype.name = 'QuarantineError';

/**
 * A file written to a temporary name, waiting for `commit` (or `discard`). Commit within an
 * hour: `cleanupExpired` takes an older temporary file for a dead writer's leftover and removes
 * it, and `commit` then fails with a QuarantineError `not_found`.
 */
export interface StagedFile {
  readonly metadata: FileMetadata;
  commit(entry: QuarantineEntry): Promise<QuarantineRecord>;
  discard(): Promise<void>;
}

/**
 * Quarantined files in a directory: `<id>.bin` and its `<id>.json` record. Every write goes
 * to a temporary name, is synced and then renamed, so a crash never leaves a half-written
 * file under a real name, and a failed operation leaves nothing behind.
 */
export class FilesystemQuarantine {
  readonly dir: string;
  private readonly retentionMs: number;
  private readonly clock: Clock;

  constructor(dir: string, options: FilesystemQuarantineOptions = {}) {
    if (typeof dir !== 'string' || dir.length === 0) {
      throw new TypeError(
        `FilesystemQuarantine: dir must be a non-empty string, got ${describeValue(dir)}`,
      );
    }
    const { retentionMs = 30 * DAY_MS, clock = systemClock } = options;
    this.dir = dir;
    this.retentionMs = checkRetention(retentionMs);
    this.clock = clock;
  }

  /** Copies `input` in and records why. */
  async store(input: FileInput, entry: QuarantineEntry): Promise<QuarantineRecord> {
    const staged = await this.stage(input);
    return staged.commit(entry);
  }

  /**
   * Writes `input` under a temporary name; `commit` gives it its record, `discard` removes it.
   * For a stream that can be read only once: stage it while it is scanned.
   */
  async stage(input: FileInput): Promise<StagedFile> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = randomUUID();
    const temp = this.path(`${TEMP_PREFIX}${id}.bin`);
    const read = new MeteredRead(input);
    const handle = await open(temp, 'wx', 0o600);
    try {
      for await (const chunk of read.chunks()) await handle.write(chunk);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    const metadata = read.metadata();
    return {
      metadata,
      commit: (entry) => this.commit(id, temp, metadata, entry),
      discard: () => rm(temp, { force: true }),
    };
  }

  private async commit(
    id: string,
    temp: string,
    metadata: FileMetadata,
    entry: QuarantineEntry,
  ): Promise<QuarantineRecord> {
    try {
      const record = this.record(id, metadata, entry);
      await rename(temp, this.path(`${id}.bin`)).catch((error: unknown) => {
        if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
        throw new QuarantineError(
          'not_found',
          `The staged file ${id} is gone, so it cannot be committed: a staged file left uncommitted for over an hour is removed by cleanupExpired; stage it again`,
          { cause: error },
        );
      });
      try {
        await this.writeAtomically(`${id}.json`, `${JSON.stringify(record, null, 2)}\n`);
      } catch (error) {
        await rm(this.path(`${id}.bin`), { force: true });
        throw error;
      }
      return record;
    } finally {
      await rm(temp, { force: true });
    }
  }

  private record(id: string, metadata: FileMetadata, entry: QuarantineEntry): QuarantineRecord {
    if (typeof entry?.reason !== 'string' || entry.reason.length === 0) {
      throw new TypeError(
        `FilesystemQuarantine: a quarantine entry needs a non-empty reason, got ${describeValue(entry?.reason)}`,
      );
    }
    const { report } = entry;
    // The bytes kept must be the bytes judged: a file that changed since its scan is not evidence.
    if (report !== undefined && report.fileHash.sha256 !== metadata.hash.sha256) {
      throw new ScanError(
        'io',
        `The file changed after it was scanned (sha256 ${metadata.hash.sha256}, scanned ${report.fileHash.sha256}); not quarantined`,
      );
    }
    const retentionMs =
      entry.retentionMs === undefined ? this.retentionMs : checkRetention(entry.retentionMs);
    const now = this.clock.now();
    const tenantId = entry.tenantId ?? report?.context.tenantId;
    return {
      id,
      sha256: metadata.hash.sha256,
      size: metadata.size,
      ...(metadata.filename === undefined ? {} : { filename: metadata.filename }),
      ...(metadata.mimeType === undefined ? {} : { mimeType: metadata.mimeType }),
      reason: entry.reason,
      ...(tenantId === undefined ? {} : { tenantId }),
      quarantinedAt: now,
      expiresAt: now + retentionMs,
      ...(report === undefined ? {} : { report }),
    };
  }

  /** The record alone. */
  async get(id: string): Promise<QuarantineRecord> {
    const name = `${checkId(id)}.json`;
    let text: string;
    try {
      text = await readFile(this.path(name), 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') {
        throw new QuarantineError('not_found', `Nothing is quarantined under id ${id}`, {
          cause: error,
        });
      }
      throw error;
    }
    return parseRecord(text, id);
  }

  /**
   * The record and the file. The whole file is hashed from the handle it will be read from
   * before anything is returned, so a file whose size or bytes are not the record's fails here
   * (a QuarantineError `integrity`) and no byte of it is handed over. Read the file twice
   * rather than hold it in memory: any size works with flat memory.
   */
  async retrieve(id: string): Promise<RetrievedFile> {
    const record = await this.get(id);
    const file = await openRegularFile(this.path(`${id}.bin`)).catch((error: unknown) => {
      if (!(error instanceof ScanError && error.kind === 'file_not_found')) throw error;
      throw new QuarantineError(
        'not_found',
        `The quarantined file ${id} is missing (its record is there)`,
        { cause: error },
      );
    });
    try {
      if (file.size !== record.size) {
        throw integrityError(id, `it has ${file.size} bytes, the record says ${record.size}`);
      }
      const actual = await sha256Of(file);
      if (actual !== record.sha256) {
        throw integrityError(id, `sha256 is ${actual}, the record says ${record.sha256}`);
      }
    } catch (error) {
      await file.handle.close();
      throw error;
    }
    const input = FileInput.fromStream(verifiedContent(file, record), {
      filename: record.filename,
      sizeHint: record.size,
    });
    return { record, input, close: () => file.handle.close() };
  }

  async list(filter: QuarantineFilter = {}): Promise<QuarantineRecord[]> {
    const now = this.clock.now();
    const records: QuarantineRecord[] = [];
    for (const id of await this.ids()) {
      // A record deleted while we list is simply gone; a corrupt one still fails loudly.
      const record = await this.get(id).catch((error: unknown) => {
        if (error instanceof QuarantineError && error.kind === 'not_found') return undefined;
        throw error;
      });
      if (record === undefined) continue;
      if (filter.tenantId !== undefined && record.tenantId !== filter.tenantId) continue;
      if (filter.sha256 !== undefined && record.sha256 !== filter.sha256.toLowerCase()) continue;
      if (filter.since !== undefined && record.quarantinedAt < filter.since) continue;
      if (filter.expired !== undefined && record.expiresAt <= now !== filter.expired) continue;
      records.push(record);
    }
    return records.sort((a, b) => a.quarantinedAt - b.quarantinedAt);
  }

  /** Removes a file and its record; false when there was nothing under `id`. */
  async delete(id: string): Promise<boolean> {
    checkId(id);
    const existed = await exists(this.path(`${id}.json`));
    // Record first: a file without a record is invisible, a record without its file is not.
    await rm(this.path(`${id}.json`), { force: true });
    await rm(this.path(`${id}.bin`), { force: true });
    return existed;
  }

  /**
   * Deletes expired files and what dead writers left behind. A record that cannot be read or
   * removed is skipped and reported, so one bad record never keeps the rest past their expiry.
   */
  async cleanupExpired(): Promise<CleanupResult> {
    const now = this.clock.now();
    const removed: string[] = [];
    const skipped: { id: string; reason: string }[] = [];
    for (const id of await this.ids()) {
      try {
        const record = await this.get(id);
        if (record.expiresAt <= now && (await this.delete(id))) removed.push(id);
      } catch (error) {
        // Deleted meanwhile: nothing to clean up.
        if (error instanceof QuarantineError && error.kind === 'not_found') continue;
        skipped.push({ id, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    await this.removeLeftovers();
    return { removed, skipped };
  }

  private async removeLeftovers(): Promise<void> {
    const now = Date.now();
    const names = await this.names();
    const recorded = new Set(names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)));
    for (const name of names) {
      const orphan =
        name.endsWith('.bin') && !name.startsWith(TEMP_PREFIX) && !recorded.has(name.slice(0, -4));
      if (!orphan && !name.startsWith(TEMP_PREFIX)) continue;
      const info = await stat(this.path(name)).catch(() => undefined);
      if (info !== undefined && now - info.mtimeMs > STALE_TEMP_MS)
        await rm(this.path(name), { force: true });
    }
  }

  private async ids(): Promise<string[]> {
    return (await this.names())
      .filter((name) => name.endsWith('.json') && ID_PATTERN.test(name.slice(0, -5)))
      .map((name) => name.slice(0, -5));
  }

  private async names(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return [];
      throw error;
    }
  }

  private async writeAtomically(name: string, text: string): Promise<void> {
    const temp = this.path(`${TEMP_PREFIX}${randomUUID()}-${name}`);
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path(name));
    } finally {
      await rm(temp, { force: true });
    }
  }

  private path(name: string): string {
    return join(this.dir, name);
  }
}

function checkRetention(retentionMs: unknown): number {
  if (typeof retentionMs !== 'number' || !Number.isFinite(retentionMs) || retentionMs <= 0) {
    throw new RangeError(
      `FilesystemQuarantine: "retentionMs" must be a finite number of milliseconds > 0, got ${describeValue(retentionMs)}`,
    );
  }
  return retentionMs;
}

function checkId(id: string): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new QuarantineError('invalid_id', `Not a quarantine id: ${describeValue(id)}`);
  }
  return id;
}

function parseRecord(text: string, id: string): QuarantineRecord {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (error) {
    throw new QuarantineError(
      'corrupt_record',
      `The record of quarantined file ${id} is not valid JSON`,
      { cause: error },
    );
  }
  const r = record as Partial<QuarantineRecord> | null;
  if (
    r?.id !== id ||
    typeof r.sha256 !== 'string' ||
    typeof r.size !== 'number' ||
    typeof r.expiresAt !== 'number'
  ) {
    throw new QuarantineError(
      'corrupt_record',
      `The record of quarantined file ${id} is missing its id, sha256, size or expiry`,
    );
  }
  return r as QuarantineRecord;
}

/** The sha256 of the file's first `size` bytes, read by position through one reused buffer. */
async function sha256Of(file: OpenFile): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(HASH_CHUNK_BYTES, file.size));
  let position = 0;
  while (position < file.size) {
    const length = Math.min(buffer.byteLength, file.size - position);
    const { bytesRead } = await file.handle.read(buffer, 0, length, position);
    // Shorter than its stat: the hash cannot match, and says so.
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}

/**
 * The file's bytes, hashed again as they go, for a writer that changed them after `retrieve`
 * checked them; the last chunk is held back until the hash is known, so such a reader never
 * gets the whole of bytes that are not the record's.
 */
async function* verifiedContent(
  file: OpenFile,
  record: QuarantineRecord,
): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    const hash = createHash('sha256');
    let held: Uint8Array | undefined;
    // Each chunk is a buffer of its own (readOpenFile allocates one per read), so holding
    // one back while the next is read is safe.
    for await (const chunk of readOpenFile(file)) {
      hash.update(chunk);
      if (held !== undefined) yield held;
      held = chunk;
    }
    const actual = hash.digest('hex');
    if (actual !== record.sha256) {
      const problem = `it changed while it was read (sha256 is now ${actual}, the record says ${record.sha256})`;
      const cause = integrityError(record.id, problem);
      // A ScanError, as every failed read of a FileInput is, so it reaches the reader as it is.
      throw new ScanError('io', `${cause.message}; discard what was read`, { cause });
    }
    if (held !== undefined) yield held;
  } finally {
    await file.handle.close();
  }
}

function integrityError(id: string, problem: string): QuarantineError {
  return new QuarantineError(
    'integrity',
    `Quarantined file ${id} fails its integrity check: ${problem}`,
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
