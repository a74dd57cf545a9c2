import { describe, expect, it } from 'vitest';
import { AuthorizationRequestError } from './errors.js';
import { AuthorizationService } from './service.js';
import type { CheckRequest, PermissionChecker } from './types.js';

/** Allows everything asked one at a time; refuses the bulk call's check `refused`, as SpiceDB does. */
function refusingChecker(refused: number): PermissionChecker & { bulk: CheckRequest[][] } {
  const bulk: CheckRequest[][] = [];
  return {
    bulk,
    check: async () => true,
    checkMany: async (reqs) => {
      bulk.push([...reqs]);
      throw new AuthorizationRequestError(
        'request',
        `SpiceDB CheckBulkPermissions check ${refused} refused the check (FAILED_PRECONDITION): relation/permission \`nope\` not found under definition \`document\``,
        { item: refused },
      );
    },
    health: async () => {},
  };
}

const check = (subject: string, permission = 'read'): CheckRequest => ({
  subject,
  resource: 'document:plan',
  permission,
});

describe('a check of a bulk call that SpiceDB refuses', () => {
  it("is named by its place in the caller's list, not in the call, which skips cached checks", async () => {
    const checker = refusingChecker(1);
    const authz = new AuthorizationService({ checker });
    // Two checks the cache answers, so the call carries the caller's checks 2 and 3 as 0 and 1.
    expect((await authz.check(check('user:alice'))).allowed).toBe(true);
    expect((await authz.check(check('user:bob'))).allowed).toBe(true);
    const batch = [
      check('user:alice'),
      check('user:bob'),
      check('user:carol'),
      check('user:dan', 'nope'),
    ];
    const refusal = await authz.checkMany(batch).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(checker.bulk).toEqual([[batch[2], batch[3]]]);
    expect(refusal).toBeInstanceOf(AuthorizationRequestError);
    const error = refusal as AuthorizationRequestError;
    expect(error.item).toBe(3);
    expect(error.message).toMatch(
      /^checks\[3\] \(sent as check 1: the call carries only what the cache could not answer\): SpiceDB CheckBulkPermissions check 1 refused/,
    );
    expect(error.cause).toBeInstanceOf(AuthorizationRequestError);
    expect(authz.stats().requestErrors).toBe(1);
  });

  it('keeps its index when the call carries the whole list', async () => {
    const authz = new AuthorizationService({ checker: refusingChecker(0), cache: false });
    const error = await authz.checkMany([check('user:erin', 'nope'), check('user:finn')]).then(
      () => undefined,
      (caught: unknown) => caught as AuthorizationRequestError,
    );
    expect(error?.item).toBe(0);
    expect(error?.message).toMatch(/^checks\[0\]: SpiceDB CheckBulkPermissions check 0 refused/);
  });
});
