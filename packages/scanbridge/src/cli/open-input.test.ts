import { describe, expect, it } from 'vitest';
import { ScanError } from '../errors.js';
import { openInput } from './open-input.js';

describe('openInput', () => {
  it('says in words, in the same case as every other message, why a file named by its bytes cannot be read', async () => {
    const path = Buffer.concat([Buffer.from('/nonexistent-scanbridge/missing'), Buffer.of(0xff)]);
    const opened = openInput({ path, shown: '/nonexistent-scanbridge/missing\\xff' });
    await expect(opened).rejects.toBeInstanceOf(ScanError);
    await expect(opened).rejects.toThrow(
      /^cannot read \/nonexistent-scanbridge\/missing\\xff: no such file \(ENOENT\)$/,
    );
  });
});
