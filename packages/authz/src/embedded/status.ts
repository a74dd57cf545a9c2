import { Metadata, type ServerErrorResponse, status } from '@grpc/grpc-js';
import { statusDetails } from './details.js';

// Go's codes.Code names, in code order: the index is the gRPC status number.
const GO_CODES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

const GO_STATUS = /^rpc error: code = (\w+) desc = ([\s\S]*)$/;

/**
 * The gRPC status a SpiceDB server would have sent for an engine error: the in-process API
 * throws plain Errors carrying Go's rendering of the status (`rpc error: code = FailedPrecondition
 * desc = ...`), which the client must get back as that code with the desc as its details, and
 * with SpiceDB's ErrorInfo where it can be rebuilt.
 */
export function engineStatus(error: unknown): ServerErrorResponse {
  const message = error instanceof Error ? error.message : String(error);
  const match = GO_STATUS.exec(message);
  const code = match === null ? -1 : GO_CODES.indexOf(match[1] as string);
  if (match === null || code <= 0) {
    return { name: 'Error', message, code: status.UNKNOWN, details: message };
  }
  const details = match[2] as string;
  const encoded = statusDetails(code, details);
  if (encoded === undefined) return { name: 'Error', message: details, code, details };
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', encoded);
  return { name: 'Error', message: details, code, details, metadata };
}

/** Just the first line of an engine message: what a person reads in a start failure. */
export function engineMessage(error: unknown): string {
  const status = engineStatus(error);
  return status.details ?? status.message;
}
