/** A policy (built in code or loaded from JSON) that cannot be used; `path` says where. */
export class PolicyError extends TypeError {
  readonly code = 'SCANBRIDGE_INVALID_POLICY';
  /** Where in the policy the problem is, e.g. `rules[2] ("block-exe").conditions[0].type`. */
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`Invalid policy at ${path}: ${problem}`);
    this.path = path;
  }
}
PolicyError.prototype.name = 'PolicyError';
