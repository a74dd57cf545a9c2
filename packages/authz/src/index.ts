export {
  AuthorizationRequestError,
  ForbiddenError,
  type RequestField,
  UnauthenticatedError,
} from './errors.js';
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
