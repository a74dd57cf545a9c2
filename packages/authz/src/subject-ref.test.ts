import { describe, expect, it } from 'vitest';
import { AuthorizationRequestError } from './errors.js';
import { objectReference, subjectReference } from './subject-ref.js';

function refusal(run: () => unknown): AuthorizationRequestError {
  try {
    run();
  } catch (error) {
    if (error instanceof AuthorizationRequestError) return error;
    throw error;
  }
  throw new Error('expected an AuthorizationRequestError');
}

describe('objectReference', () => {
  it('splits type:id at the colon, keeping prefixed types whole', () => {
    expect(objectReference('resource', 'document:readme')).toEqual({
      objectType: 'document',
      objectId: 'readme',
    });
    expect(objectReference('resource', 'tenant/document:a/b=c')).toEqual({
      objectType: 'tenant/document',
      objectId: 'a/b=c',
    });
  });

  it.each(['readme', ':readme', 'document:', ''])('refuses %j, naming the field', (value) => {
    const error = refusal(() => objectReference('resource', value));
    expect(error.field).toBe('resource');
    expect(error.message).toBe(`resource ${JSON.stringify(value)} is not "type:id"`);
  });

  it('refuses a value that is not a string without throwing a TypeError', () => {
    const error = refusal(() => objectReference('resource', 42 as unknown as string));
    expect(error.message).toBe('resource of type number is not "type:id"');
  });
});

describe('subjectReference', () => {
  it('splits type:id with no relation', () => {
    expect(subjectReference('user:alice')).toEqual({
      object: { objectType: 'user', objectId: 'alice' },
      optionalRelation: '',
    });
  });

  it('splits type:id#relation, and a wildcard subject', () => {
    expect(subjectReference('group:eng#member')).toEqual({
      object: { objectType: 'group', objectId: 'eng' },
      optionalRelation: 'member',
    });
    expect(subjectReference('user:*')).toEqual({
      object: { objectType: 'user', objectId: '*' },
      optionalRelation: '',
    });
  });

  it('names the whole subject when its object part cannot be split', () => {
    const error = refusal(() => subjectReference('eng#member'));
    expect(error.field).toBe('subject');
    expect(error.message).toBe('subject "eng#member" is not "type:id" or "type:id#relation"');
  });

  it('refuses an empty relation after "#"', () => {
    const error = refusal(() => subjectReference('group:eng#'));
    expect(error.field).toBe('subject');
    expect(error.message).toContain('empty relation');
  });
});
