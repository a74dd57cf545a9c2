import { describe, expect, it } from 'vitest';
import { bytes } from '../test/helpers.js';
import { Digest } from './hashing.js';

describe('Digest', () => {
  it('computes real sha256, md5 and blake3 over chunks (known test vectors)', () => {
    const digest = new Digest(['md5', 'blake3']);
    digest.update(bytes('a'));
    digest.update(bytes('bc'));
    expect(digest.size).toBe(3);
    expect(digest.digest()).toEqual({
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      md5: '900150983cd24fb0d6963f7d28e17f72',
      blake3: '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85',
    });
  });

  it('computes sha256 alone unless asked for more', () => {
    const digest = new Digest();
    digest.update(bytes('abc'));
    expect(Object.keys(digest.digest())).toEqual(['sha256']);
  });
});
