import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { entries, failure, tempDirs } from '../test/helpers.js';
import { FileInput } from './input.js';
import { IN_MEMORY_BYTES, prepareInput } from './prepare.js';

/** The spooled copy's handle writes at most `limit` bytes per call, then maybe fails. */
const disk = vi.hoisted(() => ({
  limit: Number.POSITIVE_INFINITY,
  /** Writes that succeed before every further one fails with ENOSPC. */
  writesBeforeFull: Number.POSITIVE_INFINITY,
  /** Closing the copy reports a write that failed late (NFS, a quota). */
  closeFails: false,
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    async open(...args: Parameters<typeof real.open>) {
      const handle = await real.open(...args);
      if (!String(args[0]).endsWith('/input')) return handle;
      const write = handle.write.bind(handle) as (...a: unknown[]) => Promise<{
        bytesWritten: number;
      }>;
      let writes = 0;
      handle.write = (async (buffer: Uint8Array, offset = 0, length?: number) => {
        if (writes++ >= disk.writesBeforeFull) {
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
            code: 'ENOSPC',
          });
        }
        const wanted = length ?? buffer.byteLength - offset;
        return write(buffer, offset, Math.min(wanted, disk.limit));
      }) as typeof handle.write;
      const close = handle.close.bind(handle);
      handle.close = async () => {
        await close();
        if (disk.closeFails) {
          throw Object.assign(new Error('EDQUOT: disk quota exceeded, close'), { code: 'EDQUOT' });
        }
      };
      return handle;
    },
  };
});

const tempDir = tempDirs();
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

afterEach(() => {
  disk.limit = Number.POSITIVE_INFINITY;
  disk.writesBeforeFull = Number.POSITIVE_INFINITY;
  disk.closeFails = false;
});

function upload(content: Uint8Array): FileInput {
  return FileInput.fromStream(
    (async function* () {
      yield content;
    })(),
    { filename: 'upload.bin' },
  );
}

describe('spooling a stream', () => {
  it('writes the whole copy when the disk takes fewer bytes per write than it was given', async () => {
    const spoolDir = await tempDir();
    disk.limit = 100_000;
    const content = new Uint8Array(2 * 1024 * 1024).map((_, i) => i % 251);
    const prepared = await prepareInput(upload(content), {
      maxBytes: 64 * 1024 * 1024,
      hashes: [],
      signal: undefined,
      spoolDir,
    });
    try {
      const { input, metadata } = prepared.forEngine();
      expect((await stat(input.path as string)).size).toBe(content.byteLength);
      expect(sha256(await input.readAll())).toBe(sha256(content));
      expect(metadata()?.hash.sha256).toBe(sha256(content));
    } finally {
      await prepared.close();
    }
  });

  it('says which input could not be spooled where, and why in words, and leaves nothing', async () => {
    const spoolDir = await tempDir();
    disk.limit = 100_000;
    disk.writesBeforeFull = 3;
    const content = new Uint8Array(2 * 1024 * 1024).fill(1);
    const error = await failure(
      prepareInput(upload(content), {
        maxBytes: 64 * 1024 * 1024,
        hashes: [],
        signal: undefined,
        spoolDir,
      }),
    );
    expect(error.kind).toBe('io');
    expect(error.message).toBe(
      `Cannot spool upload.bin into ${spoolDir} (option "spoolDir"): no space left on device (ENOSPC)`,
    );
    expect(await entries(spoolDir)).toEqual([]);
  });

  it('takes no copy whose close reported a failed write, and says why', async () => {
    const spoolDir = await tempDir();
    disk.closeFails = true;
    const error = await failure(
      prepareInput(upload(new Uint8Array(IN_MEMORY_BYTES + 1000).fill(1)), {
        maxBytes: 64 * 1024 * 1024,
        hashes: [],
        signal: undefined,
        spoolDir,
      }),
    );
    expect(error.message).toBe(
      `Cannot spool upload.bin into ${spoolDir} (option "spoolDir"): disk quota exceeded (EDQUOT)`,
    );
    expect(await entries(spoolDir)).toEqual([]);
  });
});
