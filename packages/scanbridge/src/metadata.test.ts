import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FileInput } from './input.js';
import { readMetadata } from './metadata.js';

describe('readMetadata', () => {
  it('sniffs the type from the first bytes, however the uploader split them', async () => {
    const pe = Buffer.from('MZ\x90\x00 a Windows executable', 'latin1');
    const oneByteChunks = Readable.from([...pe].map((byte) => Buffer.of(byte)));
    const metadata = await readMetadata(
      FileInput.fromStream(oneByteChunks, { filename: 'invoice.pdf' }),
    );
    expect(metadata.mimeType).toBe('application/vnd.microsoft.portable-executable');
    expect(metadata.size).toBe(pe.byteLength);
  });

  it('falls back to the extension, and says nothing when neither tells', async () => {
    const csv = await readMetadata(FileInput.fromBytes(Buffer.from('a,b\n1,2'), 'table.csv'));
    expect(csv.mimeType).toBe('text/csv');
    const unknown = await readMetadata(FileInput.fromBytes(Buffer.from('???')));
    expect(unknown).toEqual({ size: 3, hash: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  });
});
