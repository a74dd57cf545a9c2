import { describeValue } from '@breakwater/core/validate';
import { PolicyError } from './errors.js';

export type PolicyActionType =
  | 'allow'
  | 'allow_with_warning'
  | 'quarantine'
  | 'block'
  | 'require_review';

/** What to do with a file: plain data, so policies round-trip through JSON. */
export interface PolicyAction {
  readonly type: PolicyActionType;
  /** For `allow_with_warning`: what to tell the user. */
  readonly message?: string;
  /** For `quarantine`, `block` and `require_review`: why. */
  readonly reason?: string;
}

const TYPES: ReadonlySet<string> = new Set<PolicyActionType>([
  'allow',
  'allow_with_warning',
  'quarantine',
  'block',
  'require_review',
]);

export const PolicyAction = {
  allow(): PolicyAction {
    return { type: 'allow' };
  },
  allowWithWarning(message: string): PolicyAction {
    return parseAction({ type: 'allow_with_warning', message }, 'PolicyAction.allowWithWarning');
  },
  quarantine(reason: string): PolicyAction {
    return parseAction({ type: 'quarantine', reason }, 'PolicyAction.quarantine');
  },
  block(reason: string): PolicyAction {
    return parseAction({ type: 'block', reason }, 'PolicyAction.block');
  },
  requireReview(reason?: string): PolicyAction {
    return parseAction(
      reason === undefined ? { type: 'require_review' } : { type: 'require_review', reason },
      'PolicyAction.requireReview',
    );
  },
} as const;

/** Checks an action from code or JSON; `path` names it in the error. */
export function parseAction(value: unknown, path: string): PolicyAction {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PolicyError(
      path,
      `an action must be an object like { "type": "block", "reason": "..." }, got ${describeValue(value)}`,
    );
  }
  const { type, message, reason, ...extra } = value as Record<string, unknown>;
  if (typeof type !== 'string' || !TYPES.has(type)) {
    throw new PolicyError(
      `${path}.type`,
      `unknown action ${describeValue(type)}; use one of ${[...TYPES].join(', ')}`,
    );
  }
  const unknown = Object.keys(extra);
  if (unknown.length > 0) throw new PolicyError(path, `unknown field "${unknown[0]}"`);
  const text = (field: string, text: unknown, required: boolean): string | undefined => {
    if (text === undefined && !required) return undefined;
    if (typeof text !== 'string' || text.length === 0) {
      throw new PolicyError(
        `${path}.${field}`,
        `action "${type}" needs a non-empty ${field}, got ${describeValue(text)}`,
      );
    }
    return text;
  };
  const checkedMessage = text('message', message, type === 'allow_with_warning');
  const checkedReason = text('reason', reason, type === 'quarantine' || type === 'block');
  return {
    type: type as PolicyActionType,
    ...(checkedMessage === undefined ? {} : { message: checkedMessage }),
    ...(checkedReason === undefined ? {} : { reason: checkedReason }),
  };
}
