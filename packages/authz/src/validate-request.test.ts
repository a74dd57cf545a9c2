import { describe, expect, it } from 'vitest';
import { AuthorizationRequestError } from './errors.js';
import type { CheckRequest } from './types.js';
import { isCacheable, showValue, validateCheckRequest } from './validate-request.js';

const good: CheckRequest = {
  subject: 'user:alice',
  resource: 'document:readme',
  permission: 'read',
};

function errorOf(req: unknown, where?: string): AuthorizationRequestError {
  try {
    validateCheckRequest(req, where);
  } catch (error) {
    if (error instanceof AuthorizationRequestError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(req)}`);
}

function refuses(patch: Record<string, unknown>): AuthorizationRequestError {
  return errorOf({ ...good, ...patch });
}

function accepts(patch: Record<string, unknown>): void {
  expect(() => validateCheckRequest({ ...good, ...patch })).not.toThrow();
}

const type64 = `a${'b'.repeat(62)}c`;
const type65 = `a${'b'.repeat(63)}c`;

describe('validateCheckRequest: accepted', () => {
  it.each([
    ['subject', 'user:alice'],
    ['subject', 'group:eng#member'],
    ['subject', 'user:*'],
    ['subject', 'abc:x'],
    ['subject', `${type64}:x`],
    ['subject', 'tenant/user:x'],
    ['subject', 'org/tenant/user:x'],
    ['subject', 'user:a/b_c|d-e=f+g'],
    ['subject', `user:${'x'.repeat(1024)}`],
    ['subject', `user:${'x'.repeat(1024)}#member`],
    ['resource', 'document:readme'],
    ['resource', `document:${'x'.repeat(1024)}`],
    ['resource', 'tenant/document:0'],
    ['resource', `a${'b'.repeat(61)}c/${type64}:x`],
    ['resource', 'doc:x'],
    ['permission', 'abc'],
    ['permission', `r${'e'.repeat(62)}d`],
    ['permission', 'can_read2'],
  ])('%s %s', (field, value) => {
    accepts({ [field]: value });
  });

  it.each([undefined, 'minimize_latency', 'fully_consistent', { atLeastAsFresh: 'GhUKEzE2OTk5' }])(
    'consistency %j',
    (consistency) => {
      accepts({ consistency });
    },
  );

  it('ignores keys it does not know, such as a signal', () => {
    accepts({ signal: new AbortController().signal, extra: 1 });
  });
});

describe('validateCheckRequest: refused, naming the field', () => {
  it.each([
    ['subject', 'user alice', 'is not type:id or type:id#relation'],
    ['subject', '', 'is empty'],
    ['subject', 'user', 'is not type:id'],
    ['subject', ':alice', 'has no object type'],
    ['subject', 'user:', 'has no object id'],
    ['subject', 'us:alice', 'has object type "us"'],
    ['subject', 'User:alice', 'has object type "User"'],
    ['subject', '1user:alice', 'has object type "1user"'],
    ['subject', 'user_:alice', 'has object type "user_"'],
    ['subject', `${type65}:x`, 'has object type'],
    ['subject', 'tenant/:x', 'has object type'],
    ['subject', '/user:x', 'has object type'],
    ['subject', 'user:al ice', 'has object id "al ice"'],
    ['subject', 'user:al\nice', 'has object id "al\\nice"'],
    ['subject', 'user:a:b', 'has object id "a:b"'],
    ['subject', 'user:al*', 'has object id "al*"'],
    ['subject', 'user:**', 'has object id "**"'],
    ['subject', 'user:élise', 'has object id "\\u00e9lise"'],
    ['subject', 'user:😀', 'has object id "\\ud83d\\ude00"'],
    ['subject', `user:${'x'.repeat(1025)}`, 'an object id of 1025 characters'],
    ['subject', 'user:*#member', 'is a wildcard with a relation'],
    ['subject', 'group:eng#', 'has relation ""'],
    ['subject', 'group:eng#Member', 'has relation "Member"'],
    ['subject', 'group:eng#ab', 'has relation "ab"'],
    ['subject', 'group:eng#a#b', 'has relation'],
    ['resource', 'document', 'is not type:id'],
    ['resource', '', 'is empty'],
    ['resource', 'document:*', 'is a wildcard'],
    ['resource', 'document:readme#reader', 'has a relation'],
    ['resource', 'document:read me', 'has object id'],
    ['resource', 'document:a:b', 'has object id'],
    ['resource', 'do:x', 'has object type'],
    ['resource', `${'abc/'.repeat(32)}abc:x`, 'at most 128 characters in all'],
    ['resource', `${type64}/abc:x`, 'has object type'],
    ['resource', `document:${'x'.repeat(1025)}`, 'an object id of 1025 characters'],
    ['permission', '', 'is empty'],
    ['permission', 're', 'is not a name SpiceDB accepts'],
    ['permission', 'Read', 'is not a name'],
    ['permission', 'read_', 'is not a name'],
    ['permission', '_read', 'is not a name'],
    ['permission', 'can-read', 'is not a name'],
    ['permission', 'read\n', 'is not a name'],
    ['permission', `r${'e'.repeat(63)}d`, 'is not a name'],
    ['permission', 'lire_é', 'is not a name'],
  ])('%s %j: %s', (field, value, words) => {
    const error = refuses({ [field]: value });
    expect(error.field).toBe(field);
    expect(error.code).toBe('BREAKWATER_AUTHZ_BAD_REQUEST');
    expect(error.message).toContain(field);
    expect(error.message).toContain(words);
  });

  it('says a missing field is missing, and a wrong type is the wrong type', () => {
    expect(errorOf({ resource: 'document:a', permission: 'read' }).message).toBe(
      'subject is missing',
    );
    const error = refuses({ resource: 42 });
    expect(error.field).toBe('resource');
    expect(error.message).toBe('resource must be a string, got 42');
  });

  it('the message of the issue, word for word', () => {
    expect(refuses({ subject: 'user alice' }).message).toBe(
      'subject "user alice" is not type:id or type:id#relation',
    );
  });

  it.each([null, undefined, 'user:alice', 42, ['user:alice']])(
    'a check that is not an object (%j) is a request error',
    (req) => {
      const error = errorOf(req);
      expect(error.field).toBe('request');
      expect(error.message).toMatch(/^a check must be an object/);
    },
  );

  it.each([
    ['fully', 'must be'],
    [null, 'must be'],
    [['fully_consistent'], 'must be'],
    [{}, 'empty object'],
    [{ atLeastAsFresh: '' }, 'non-empty ZedToken'],
    [{ atLeastAsFresh: 7 }, 'non-empty ZedToken'],
    [{ atLeastAsFresh: 'tok', extra: 1 }, 'unknown key "extra"'],
    [{ atLeastAsfresh: 'tok' }, 'unknown key "atLeastAsfresh"'],
  ])('consistency %j is refused (%s)', (consistency, words) => {
    const error = refuses({ consistency });
    expect(error.field).toBe('consistency');
    expect(error.message).toContain(words);
  });

  it('puts where the check is first in the message', () => {
    const error = errorOf({ ...good, resource: 'document:*' }, 'checks[2]');
    expect(error.message).toBe(
      'checks[2]: resource "document:*" is a wildcard; a check asks about one resource',
    );
  });

  it('cuts a long value short in the message and says how long it was', () => {
    const error = refuses({ subject: `user:${'x'.repeat(2000)}` });
    expect(error.message.length).toBeLessThan(300);
    expect(error.message).toContain('(2005 characters)');
  });
});

describe('showValue', () => {
  it('quotes, escapes and truncates', () => {
    expect(showValue('a"b')).toBe('"a\\"b"');
    expect(showValue('a\u202eb')).toBe('"a\\u202eb"');
    expect(showValue('x'.repeat(80))).toBe(`"${'x'.repeat(80)}"`);
    expect(showValue('x'.repeat(81))).toBe(`"${'x'.repeat(77)}..." (81 characters)`);
  });
});

describe('isCacheable', () => {
  it('only minimize_latency (or no consistency) may come from the cache', () => {
    expect(isCacheable(good)).toBe(true);
    expect(isCacheable({ ...good, consistency: 'minimize_latency' })).toBe(true);
    expect(isCacheable({ ...good, consistency: 'fully_consistent' })).toBe(false);
    expect(isCacheable({ ...good, consistency: { atLeastAsFresh: 'tok' } })).toBe(false);
  });
});
