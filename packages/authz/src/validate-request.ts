import { describeValue } from '@breakwater/core/validate';
import { AuthorizationRequestError, type RequestField } from './errors.js';
import type { CheckRequest } from './types.js';

// SpiceDB's own rules, from the buf.validate annotations of authzed.api.v1 (ObjectReference,
// SubjectReference, CheckPermissionRequest) as generated into @authzed/authzed-node 1.6.1.
const TYPE_PART = '[a-z][a-z0-9_]{1,62}[a-z0-9]';
const TYPE_SOURCE = `(?:[a-z][a-z0-9_]{1,61}[a-z0-9]/)*${TYPE_PART}`;
const ID_CHARS = '[a-zA-Z0-9/_|\\-=+]';
const OBJECT_TYPE = new RegExp(`^${TYPE_SOURCE}$`);
const OBJECT_ID = new RegExp(`^(?:${ID_CHARS}+|\\*)$`);
const NAME = new RegExp(`^${TYPE_PART}$`);
// Whole-field patterns, so a well-formed request is checked without cutting strings apart; the
// per-part patterns above only run to say what is wrong with one that failed.
const SUBJECT = new RegExp(`^${TYPE_SOURCE}:${ID_CHARS}+(?:#${TYPE_PART})?$`);
const RESOURCE = new RegExp(`^${TYPE_SOURCE}:${ID_CHARS}+$`);

/** SpiceDB's limits (maxBytes; the patterns admit only ASCII, so characters are bytes). */
const MAX_TYPE_LENGTH = 128;
const MAX_ID_LENGTH = 1024;
const SHOWN_LENGTH = 80;

const TYPE_RULE =
  'a type is 3 to 64 lowercase letters, digits and _, starting with a letter and not ending with _, optionally under prefixes as in "tenant/document"';
const ID_RULE = 'an id is letters, digits and / _ | - = +';
const NAME_RULE =
  'a relation or permission is 3 to 64 lowercase letters, digits and _, starting with a letter and not ending with _';

/**
 * A value as it reads in a message: quoted, anything outside printable ASCII escaped (so a
 * newline or a bidi control cannot forge a log line), long ones cut short with their length.
 */
export function showValue(value: string): string {
  const cut = value.length > SHOWN_LENGTH ? value.slice(0, SHOWN_LENGTH - 3) : value;
  const shown = JSON.stringify(cut).replace(/[^\x20-\x7e]/gu, (c) => {
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
  return cut === value ? shown : `${shown.slice(0, -1)}..." (${value.length} characters)`;
}

/** True when `value` is a name SpiceDB accepts for a relation or permission. */
export function isPermissionName(value: unknown): value is string {
  return typeof value === 'string' && NAME.test(value);
}

function fail(field: RequestField, where: string | undefined, message: string): never {
  throw new AuthorizationRequestError(
    field,
    where === undefined ? message : `${where}: ${message}`,
  );
}

/** Why `type` or `id` (the parts of `value`, the `field`) is refused, or undefined. */
function objectProblem(field: string, value: string, type: string, id: string): string | undefined {
  const what = `${field} ${showValue(value)}`;
  if (type.length === 0) return `${what} has no object type before the ":"`;
  if (type.length > MAX_TYPE_LENGTH || !OBJECT_TYPE.test(type)) {
    return `${what} has object type ${showValue(type)}, which SpiceDB refuses: ${TYPE_RULE}, at most ${MAX_TYPE_LENGTH} characters in all`;
  }
  if (id.length === 0) return `${what} has no object id after the ":"`;
  if (id.length > MAX_ID_LENGTH) {
    return `${what} has an object id of ${id.length} characters; SpiceDB takes at most ${MAX_ID_LENGTH}`;
  }
  if (!OBJECT_ID.test(id)) {
    return `${what} has object id ${showValue(id)}, which SpiceDB refuses: ${ID_RULE}`;
  }
  return undefined;
}

/** The id's length in a subject known to match SUBJECT, without cutting it out. */
function idLength(value: string, colon: number): number {
  const hash = value.indexOf('#', colon);
  return (hash < 0 ? value.length : hash) - colon - 1;
}

function requireString(field: RequestField, value: unknown, where: string | undefined): string {
  if (typeof value !== 'string') {
    fail(
      field,
      where,
      value === undefined
        ? `${field} is missing`
        : `${field} must be a string, got ${describeValue(value)}`,
    );
  }
  if (value.length === 0) fail(field, where, `${field} is empty`);
  return value;
}

function checkSubject(value: unknown, where: string | undefined): void {
  const subject = requireString('subject', value, where);
  const colon = subject.indexOf(':');
  if (
    SUBJECT.test(subject) &&
    colon <= MAX_TYPE_LENGTH &&
    idLength(subject, colon) <= MAX_ID_LENGTH
  ) {
    return;
  }
  if (colon < 0)
    fail('subject', where, `subject ${showValue(subject)} is not type:id or type:id#relation`);
  const hash = subject.indexOf('#', colon);
  const id = subject.slice(colon + 1, hash < 0 ? undefined : hash);
  const problem = objectProblem('subject', subject, subject.slice(0, colon), id);
  if (problem !== undefined) fail('subject', where, problem);
  if (id === '*') {
    // The id pattern admits `*`, but CheckPermission refuses it ("cannot perform check on
    // wildcard subject"): a wildcard is for relationships, a check asks about one subject.
    fail(
      'subject',
      where,
      `subject ${showValue(subject)} is a wildcard; SpiceDB checks one subject at a time, never type:*`,
    );
  }
  const relation = subject.slice(hash + 1);
  fail(
    'subject',
    where,
    `subject ${showValue(subject)} has relation ${showValue(relation)}, which SpiceDB refuses: ${NAME_RULE}`,
  );
}

function checkResource(value: unknown, where: string | undefined): void {
  const problem = resourceProblem(requireString('resource', value, where));
  if (problem !== undefined) fail('resource', where, problem);
}

/** Why SpiceDB would refuse `resource` as the resource of a check, or undefined if it would not. */
export function resourceProblem(resource: string): string | undefined {
  const colon = resource.indexOf(':');
  if (
    RESOURCE.test(resource) &&
    colon <= MAX_TYPE_LENGTH &&
    resource.length - colon - 1 <= MAX_ID_LENGTH
  ) {
    return undefined;
  }
  if (colon < 0) return `resource ${showValue(resource)} is not type:id`;
  if (resource.includes('#', colon)) {
    return `resource ${showValue(resource)} has a relation; a resource is type:id, the permission goes in "permission"`;
  }
  const id = resource.slice(colon + 1);
  return (
    objectProblem('resource', resource, resource.slice(0, colon), id) ??
    `resource ${showValue(resource)} is a wildcard; a check asks about one resource`
  );
}

function checkPermission(value: unknown, where: string | undefined): void {
  const permission = requireString('permission', value, where);
  if (NAME.test(permission)) return;
  fail(
    'permission',
    where,
    `permission ${showValue(permission)} is not a name SpiceDB accepts: ${NAME_RULE}`,
  );
}

function checkConsistency(value: unknown, where: string | undefined): void {
  if (value === undefined || value === 'minimize_latency' || value === 'fully_consistent') return;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const token = (value as { atLeastAsFresh?: unknown }).atLeastAsFresh;
    if (keys.length === 1 && keys[0] === 'atLeastAsFresh') {
      if (typeof token === 'string' && token.length > 0) return;
      fail(
        'consistency',
        where,
        `consistency.atLeastAsFresh must be a non-empty ZedToken string, got ${describeValue(token)}`,
      );
    }
    const unknown = keys.filter((key) => key !== 'atLeastAsFresh');
    fail(
      'consistency',
      where,
      unknown.length > 0
        ? `consistency has unknown key ${showValue(unknown[0] ?? '')}; the only key is atLeastAsFresh`
        : 'consistency is an empty object; give { atLeastAsFresh: zedToken }',
    );
  }
  fail(
    'consistency',
    where,
    `consistency must be 'minimize_latency', 'fully_consistent' or { atLeastAsFresh: zedToken }, got ${describeValue(value)}`,
  );
}

/**
 * Refuses, before it reaches SpiceDB, any check SpiceDB would refuse: throws an
 * {@link AuthorizationRequestError} naming the field, with `where` (e.g. `checks[2]`) leading
 * its message when given. Other keys on `req` (a `signal`, say) are not looked at.
 */
export function validateCheckRequest(req: unknown, where?: string): asserts req is CheckRequest {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    fail(
      'request',
      where,
      `a check must be an object { subject, resource, permission }, got ${describeValue(req)}`,
    );
  }
  const { subject, resource, permission, consistency } = req as Record<string, unknown>;
  checkSubject(subject, where);
  checkResource(resource, where);
  checkPermission(permission, where);
  checkConsistency(consistency, where);
}

/**
 * Whether a decision cache may answer `req`: only at `minimize_latency` (the default), since a
 * cached decision cannot prove it is as fresh as `fully_consistent` or a ZedToken demands. It
 * reads a missing consistency as `minimize_latency`; the service reads it as its checker's
 * default (`PermissionChecker.consistency`), which may be stricter.
 */
export function isCacheable(req: CheckRequest): boolean {
  return req.consistency === undefined || req.consistency === 'minimize_latency';
}
