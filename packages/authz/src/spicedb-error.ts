import type { ErrorCategory } from '@breakwater/core';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { AuthorizationRequestError } from './errors.js';

/** The SpiceDB RPCs the checker makes, as they read in messages. */
export type SpiceDbOperation = 'CheckPermission' | 'CheckBulkPermissions' | 'ReadSchema';

/**
 * SpiceDB could not answer: it was unreachable, too slow, overloaded, refused our token or
 * failed inside. `category` is what core's failure policy reads to decide whether it counts;
 * `configuration` marks a refusal that no retry fixes (a wrong preshared key), for the log.
 */
export class SpiceDbError extends Error {
  readonly code = 'BREAKWATER_SPICEDB';
  /** The gRPC status code, e.g. 14. */
  readonly grpcCode: number;
  /** Its name, e.g. `UNAVAILABLE`. */
  readonly grpcStatus: string;
  readonly category: ErrorCategory;
  /** True when SpiceDB refused our credentials: an operator must fix the token. */
  readonly configuration: boolean;
  readonly operation: SpiceDbOperation;
  /** For a CheckBulkPermissions item's own error, the index of the check in the batch. */
  readonly item: number | undefined;

  constructor(
    operation: SpiceDbOperation,
    grpcCode: number,
    message: string,
    item: number | undefined = undefined,
  ) {
    super(message);
    this.operation = operation;
    this.grpcCode = grpcCode;
    this.grpcStatus = grpcStatusName(grpcCode);
    this.category = categoryOf(grpcCode);
    this.configuration =
      grpcCode === GrpcStatus.UNAUTHENTICATED || grpcCode === GrpcStatus.PERMISSION_DENIED;
    this.item = item;
  }
}
SpiceDbError.prototype.name = 'SpiceDbError';

const STATUS_NAMES: readonly string[] = Object.entries(GrpcStatus)
  .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
  .sort((a, b) => a[1] - b[1])
  .map((entry) => entry[0]);

/** `UNAVAILABLE` for 14; `CODE_99` for a code gRPC does not define. */
export function grpcStatusName(code: number): string {
  return STATUS_NAMES[code] ?? `CODE_${code}`;
}

function categoryOf(code: number): ErrorCategory {
  switch (code) {
    case GrpcStatus.UNAVAILABLE:
      return 'connection';
    case GrpcStatus.DEADLINE_EXCEEDED:
      return 'timeout';
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return 'rate_limited';
    default:
      // CANCELLED too: the caller's own abort is settled by the checker before any status is read,
      // so a CANCELLED that gets here came from SpiceDB (shutting down) or a proxy resetting the
      // stream. Core's 'cancelled' means "the caller gave up" and is never counted; this is an outage.
      // UNAUTHENTICATED and PERMISSION_DENIED too: with a bad key the service is unusable, so the
      // breaker should count it and open rather than let every check pay the round trip.
      return 'unavailable';
  }
}

/** Codes that say the question was wrong (the schema lacks it, an id is malformed), not SpiceDB. */
function isRequestCode(code: number): boolean {
  return (
    code === GrpcStatus.INVALID_ARGUMENT ||
    code === GrpcStatus.FAILED_PRECONDITION ||
    code === GrpcStatus.NOT_FOUND
  );
}

/** The two fields read from a grpc-js ServiceError or a CheckBulkPermissions item's Status. */
interface StatusShape {
  code?: unknown;
  details?: unknown;
  message?: unknown;
}

/**
 * Turns a failed SpiceDB call into our typed error. Only the status code and SpiceDB's own words
 * are kept: a grpc-js error also carries the call's `metadata`, which is never copied, so nothing
 * the transport held can reach a log through the error. `redact` scrubs what SpiceDB said (a
 * server echoing the token it refused must not put it in our message).
 *
 * Request codes become {@link AuthorizationRequestError} unless `requestErrors` is false (a
 * health probe asks no question a caller could have got wrong).
 */
export function spiceDbErrorFrom(
  operation: SpiceDbOperation,
  error: unknown,
  redact: (text: string) => string,
  item: number | undefined = undefined,
  requestErrors = true,
): SpiceDbError | AuthorizationRequestError {
  const shape: StatusShape = typeof error === 'object' && error !== null ? error : {};
  const code =
    typeof shape.code === 'number' && Number.isInteger(shape.code)
      ? shape.code
      : GrpcStatus.UNKNOWN;
  const said = redact(describeDetails(shape, error));
  const where = item === undefined ? `SpiceDB ${operation}` : `SpiceDB ${operation} check ${item}`;
  if (requestErrors && isRequestCode(code)) {
    return new AuthorizationRequestError(
      'request',
      `${where} refused the check (${grpcStatusName(code)}): ${said}`,
      { item },
    );
  }
  return new SpiceDbError(
    operation,
    code,
    `${where} failed: ${grpcStatusName(code)}: ${said}${hint(code)}`,
    item,
  );
}

function describeDetails(shape: StatusShape, error: unknown): string {
  // grpc-js puts the server's text in `details`; a bulk item's Status in `message`.
  if (typeof shape.details === 'string' && shape.details.length > 0) return shape.details;
  if (typeof shape.message === 'string' && shape.message.length > 0) return shape.message;
  return typeof error === 'string' && error.length > 0 ? error : 'no details given';
}

function hint(code: number): string {
  if (code === GrpcStatus.UNAUTHENTICATED || code === GrpcStatus.PERMISSION_DENIED) {
    return " (a configuration problem: the checker's token is not a preshared key this SpiceDB accepts)";
  }
  if (code === GrpcStatus.UNAVAILABLE)
    return ' (is SpiceDB running and reachable at its endpoint?)';
  if (code === GrpcStatus.CANCELLED) {
    return ' (SpiceDB or a proxy in front of it cancelled the call: is SpiceDB shutting down or restarting?)';
  }
  return '';
}
