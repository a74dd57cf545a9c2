import type { CheckRequest, Decision } from './types.js';

/** The part of a check a request error is about. */
export type RequestField = 'subject' | 'resource' | 'permission' | 'consistency' | 'request';

/**
 * A check that can never be answered as asked: a malformed subject, resource or permission
 * (refused before it reaches SpiceDB), or one SpiceDB refuses (a permission the schema lacks,
 * an unknown object type). It is the caller's bug, not an outage: it never counts toward
 * opening the breaker, is never an allow, and never quietly becomes a fallback decision.
 */
export class AuthorizationRequestError extends Error {
  readonly code = 'BREAKWATER_AUTHZ_BAD_REQUEST';
  readonly field: RequestField;
  /** Which check of a list SpiceDB refused: its index in the list that was sent. */
  readonly item: number | undefined;

  constructor(
    field: RequestField,
    message: string,
    options: { cause?: unknown; item?: number | undefined } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.field = field;
    this.item = options.item;
  }
}
AuthorizationRequestError.prototype.name = 'AuthorizationRequestError';

/** `require()` found that the subject may not do what it asked; `decision` says who decided. */
export class ForbiddenError extends Error {
  readonly code = 'BREAKWATER_FORBIDDEN';
  readonly decision: Decision;
  readonly request: CheckRequest;

  constructor(request: CheckRequest, decision: Decision) {
    const by =
      decision.source === 'fallback'
        ? `the fallback strategy "${decision.strategy}" (${decision.reason})`
        : decision.source === 'cache'
          ? 'a cached SpiceDB decision'
          : 'SpiceDB';
    super(
      `${request.subject} lacks permission "${request.permission}" on ${request.resource}, decided by ${by}`,
    );
    this.request = request;
    this.decision = decision;
  }
}
ForbiddenError.prototype.name = 'ForbiddenError';

/** `require()` was called without a subject: nobody is signed in (the guide's `require_auth`). */
export class UnauthenticatedError extends Error {
  readonly code = 'BREAKWATER_UNAUTHENTICATED';

  constructor(message = 'authentication required: the check has no subject') {
    super(message);
  }
}
UnauthenticatedError.prototype.name = 'UnauthenticatedError';
