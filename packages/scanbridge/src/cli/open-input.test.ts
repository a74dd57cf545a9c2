import { writeFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { tempDirs } from '../../test/helpers.js';
import { ScanError } from '../errors.js';
import * as openFile from '../open-file.js';
import { openInput } from './open-input.js';

const tempDir = tempDirs();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A file whose name is not valid UTF-8, so openInput opens it itself. */
async function byteNamed(content: string): Promise<{ path: Buffer; shown: string }> {
  const dir = await tempDir();
  const path = Buffer.concat([Buffer.from(`${dir}/report`), Buffer.of(0xff)]);
  await writeFile(path, content);
  return { path, shown: `${dir}/report\\xff` };
}

describe('openInput', () => {
  it('names a file given by its bytes as it is shown, when it cannot be read', async () => {
    const path = Buffer.concat([Buffer.from('/nonexistent-scanbridge/missing'), Buffer.of(0xff)]);
    const opened = openInput({ path, shown: '/nonexistent-scanbridge/missing\\xff' }, 1_000);
    await expect(opened).rejects.toBeInstanceOf(ScanError);
    await expect(opened).rejects.toMatchObject({
      kind: 'file_not_found',
      message: 'file not found: /nonexistent-scanbridge/missing\\xff',
    });
  });

  it('ends the scan with a timeout when the file is not read within the limit', async () => {
    const file = await byteNamed('quarterly report');
    const opened = await openInput(file, 20);
    try {
      // Nobody reads: as a read stuck on a hung mount would not end.
      await sleep(40);
      expect(opened.signal?.aborted).toBe(true);
      expect(opened.signal?.reason).toMatchObject({
        kind: 'timeout',
        message: expect.stringContaining(`cannot read ${file.shown} within 20 ms`),
      });
    } finally {
      await opened.close();
    }
  });

  it('leaves the scan alone once the file was read to its end', async () => {
    const file = await byteNamed('quarterly report');
    const opened = await openInput(file, 20);
    try {
      const text = Buffer.from(await opened.input.readAll()).toString();
      expect(text).toBe('quarterly report');
      await sleep(40);
      expect(opened.signal?.aborted).toBe(false);
    } finally {
      await opened.close();
    }
  });

  it('lets go of the file at once, without waiting for a read that never ends', async () => {
    const file = await byteNamed('quarterly report');
    // Node's FileHandle.close() waits for every read in flight: on a hung mount, forever.
    const never = new Promise<never>(() => {});
    const handle = { read: () => never, close: vi.fn(() => never) };
    const open = vi
      .spyOn(openFile, 'openRegularFile')
      .mockResolvedValue({ handle, size: 16 } as unknown as openFile.OpenFile);
    try {
      const opened = await openInput(file, 1_000);
      void opened.input.readAll().catch(() => {});
      const closed = await Promise.race([opened.close().then(() => 'closed'), sleep(40)]);
      expect(closed).toBe('closed');
      expect(handle.close).toHaveBeenCalledOnce();
    } finally {
      open.mockRestore();
    }
  });

  it('closes an open that ends after the limit without an unhandled rejection, when that close fails', async () => {
    const file = await byteNamed('quarterly report');
    const handle = { close: vi.fn(() => Promise.reject(new Error('close failed'))) };
    const open = vi
      .spyOn(openFile, 'openRegularFile')
      .mockReturnValue(
        sleep(20).then(() => ({ handle, size: 16 }) as unknown as openFile.OpenFile),
      );
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      await expect(openInput(file, 5)).rejects.toMatchObject({ kind: 'timeout' });
      await sleep(40);
      expect(handle.close).toHaveBeenCalledOnce();
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
      open.mockRestore();
    }
  });
});
