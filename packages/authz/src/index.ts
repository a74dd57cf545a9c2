export { MalformedAnswerError } from './answer-error.js';
export { checkKey } from './cache-key.js';
export {
  DecisionCache,
  type DecisionCacheOptions,
  type DecisionCacheStats,
  type DecisionTicket,
} from './decision-cache.js';
export {
  AuthorizationRequestError,
  ForbiddenError,
  type RequestField,
  UnauthenticatedError,
} from './errors.js';
export type {
  AuthorizationEventName,
  AuthorizationEvents,
  AuthorizationListener,
} from './events.js';
export {
  type AllowHealthOnlyOptions,
  type AllowReadOnlyOptions,
  type CustomDecide,
  type CustomOptions,
  FALLBACK_ALLOWS_WARNING,
  FallbackStrategy,
  type UseCachedRulesOptions,
} from './fallback.js';
export { AuthorizationService, type CheckInput, type CheckManyOptions } from './service.js';
export {
  type AuthorizationServiceOptions,
  countsAsSpiceDbFailure,
  SPICEDB_BREAKER_DEFAULTS,
  type SpiceDbBreakerOptions,
} from './service-options.js';
export {
  SpiceDbChecker,
  type SpiceDbCheckerOptions,
  type SpiceDbClient,
  type SpiceDbClientOptions,
  type SpiceDbEndpointOptions,
} from './spicedb-checker.js';
export { SpiceDbError, type SpiceDbOperation } from './spicedb-error.js';
export type { AuthorizationStats, DecisionCounts, FallbackCounts } from './stats.js';
export type {
  CheckRequest,
  Consistency,
  Decision,
  DecisionSource,
  FallbackContext,
  FallbackDecider,
  FallbackReason,
  PermissionChecker,
} from './types.js';
export { isCacheable, validateCheckRequest } from './validate-request.js';
