import { describe, expect, it } from 'vitest';
import { ScanError } from '../errors.js';
import { openInput } from './open-input.js';

describe('openInput', () => {
  it('names a file given by its bytes as it is shown, when it cannot be read', async () => {
    const path = Buffer.concat([Buffer.from('/nonexistent-scanbridge/missing'), Buffer.of(0xff)]);
    const opened = openInput({ path, shown: '/nonexistent-scanbridge/missing\\xff' }, 1_000);
    await expect(opened).rejects.toBeInstanceOf(ScanError);
    await expect(opened).rejects.toMatchObject({
      kind: 'file_not_found',
      message: 'File not found: /nonexistent-scanbridge/missing\\xff',
    });
  });
});
