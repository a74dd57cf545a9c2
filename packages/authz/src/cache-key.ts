import type { CheckRequest } from './types.js';

/**
 * The decision cache's key for a check: subject and resource each behind their length, then the
 * permission, so no two different (subject, resource, permission) tuples share a key whatever
 * characters they hold (`user:a` + `b:c:d` and `user:a:b` + `c:d` joined with `:` would).
 * Consistency is not part of it: only `minimize_latency` checks are cached at all.
 */
export function checkKey(req: CheckRequest): string {
  return `${req.subject.length}:${req.subject}${req.resource.length}:${req.resource}${req.permission}`;
}
