import type { v1 } from '@authzed/authzed-node';
import { AuthorizationRequestError } from './errors.js';
import { showValue } from './validate-request.js';

/**
 * Splits `type:id` into SpiceDB's ObjectReference. Whether the parts follow SpiceDB's rules is
 * the service's check (validate-request.ts), done before a request gets here; this only refuses
 * what has no parts to send. Neither a type nor an id may hold `:` or `#`, so the first of each
 * is the separator.
 */
export function objectReference(
  field: 'resource' | 'subject',
  value: string,
  whole: string = value,
): v1.ObjectReference {
  const colon = typeof value === 'string' ? value.indexOf(':') : -1;
  if (colon <= 0 || colon === value.length - 1) {
    const shape = field === 'subject' ? '"type:id" or "type:id#relation"' : '"type:id"';
    throw new AuthorizationRequestError(
      field,
      `${field} ${typeof whole === 'string' ? showValue(whole) : `of type ${typeof whole}`} is not ${shape}`,
    );
  }
  return { objectType: value.slice(0, colon), objectId: value.slice(colon + 1) };
}

/** Splits `type:id` or `type:id#relation` into SpiceDB's SubjectReference. */
export function subjectReference(value: string): v1.SubjectReference {
  const hash = typeof value === 'string' ? value.indexOf('#') : -1;
  if (hash === -1) return { object: objectReference('subject', value), optionalRelation: '' };
  if (hash === value.length - 1) {
    throw new AuthorizationRequestError(
      'subject',
      `subject ${showValue(value)} has an empty relation after "#": write "type:id" or "type:id#relation"`,
    );
  }
  return {
    object: objectReference('subject', value.slice(0, hash), value),
    optionalRelation: value.slice(hash + 1),
  };
}
