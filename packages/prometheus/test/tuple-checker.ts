import type { CheckRequest, PermissionChecker } from '@breakwater/authz';
import type { ManualClock } from '@breakwater/core';

/**
 * A PermissionChecker answering from a set of `subject|resource|permission` tuples, taking
 * `latencyMs` on the clock; while `down`, it fails as a refused connection does.
 */
export class TupleChecker implements PermissionChecker {
  down = false;
  latencyMs = 0;
  constructor(
    private readonly clock: ManualClock,
    private readonly allowed: ReadonlySet<string>,
  ) {}

  async check(req: CheckRequest): Promise<boolean> {
    this.clock.advance(this.latencyMs);
    if (this.down)
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:50051'), {
        code: 'ECONNREFUSED',
      });
    return this.allowed.has(`${req.subject}|${req.resource}|${req.permission}`);
  }

  async health(): Promise<void> {}
}
