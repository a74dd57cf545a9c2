import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkKey } from './cache-key.js';

describe('checkKey', () => {
  it('tells apart the tuples naive a:b:c joining confuses', () => {
    const a = checkKey({ subject: 'user:a', resource: 'b:c:d', permission: 'read' });
    const b = checkKey({ subject: 'user:a:b', resource: 'c:d', permission: 'read' });
    expect(a).not.toBe(b);
  });

  it('tells apart tuples whose parts hold digits and colons like its own length prefixes', () => {
    const keys = new Set([
      checkKey({ subject: '1:a', resource: '2:bc', permission: 'x' }),
      checkKey({ subject: '1', resource: 'a2:bc', permission: 'x' }),
      checkKey({ subject: '', resource: '3:1:a2:bc', permission: 'x' }),
      checkKey({ subject: '1:a2:b', resource: 'c', permission: 'x' }),
      checkKey({ subject: '1:a', resource: '', permission: '2:bcx' }),
    ]);
    expect(keys.size).toBe(5);
  });

  it('is the same for the same tuple, whatever the consistency', () => {
    const req = { subject: 'user:alice', resource: 'document:readme', permission: 'read' };
    expect(checkKey({ ...req, consistency: 'fully_consistent' })).toBe(checkKey(req));
    expect(checkKey({ ...req })).toBe(checkKey(req));
  });

  it('gives distinct tuples distinct keys (property)', () => {
    // A small pool of pieces made of separators, digits and letters makes near-collisions
    // common, so an ambiguous encoding is caught; full unicode covers everything else.
    const pool = ['', 'a', ':', '::', 'a:', ':a', 'a:a', '1', '1:', '1:a', '2:a:', '#', 'a#'];
    const part = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...pool) },
      fc.string({ unit: 'grapheme' }),
    );
    const tuple = fc.record({ subject: part, resource: part, permission: part });
    fc.assert(
      fc.property(fc.array(tuple, { maxLength: 40, size: 'max' }), (tuples) => {
        const distinct = new Set(
          tuples.map((t) => JSON.stringify([t.subject, t.resource, t.permission])),
        );
        expect(new Set(tuples.map(checkKey)).size).toBe(distinct.size);
      }),
      { numRuns: 2_000 },
    );
  });
});
