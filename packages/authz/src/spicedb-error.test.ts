import { inspect } from 'node:util';
import { classifyError, FailurePolicy } from '@breakwater/core';
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { AuthorizationRequestError } from './errors.js';
import { grpcStatusName, SpiceDbError, spiceDbErrorFrom } from './spicedb-error.js';

const keep = (text: string) => text;

/** What grpc-js hands a unary callback: an Error with code, details and the call's metadata. */
function serviceError(code: number, details: string, metadata = new Metadata()) {
  return Object.assign(new Error(`${code} ${grpcStatusName(code)}: ${details}`), {
    code,
    details,
    metadata,
  });
}

describe('grpcStatusName', () => {
  it('names every gRPC code and marks an unknown one', () => {
    expect(grpcStatusName(0)).toBe('OK');
    expect(grpcStatusName(14)).toBe('UNAVAILABLE');
    expect(grpcStatusName(16)).toBe('UNAUTHENTICATED');
    expect(grpcStatusName(99)).toBe('CODE_99');
  });
});

describe('spiceDbErrorFrom', () => {
  it.each([
    [status.UNAVAILABLE, 'connection', true],
    [status.DEADLINE_EXCEEDED, 'timeout', true],
    [status.RESOURCE_EXHAUSTED, 'rate_limited', false],
    [status.CANCELLED, 'unavailable', true],
    [status.INTERNAL, 'unavailable', true],
    [status.UNKNOWN, 'unavailable', true],
    [status.UNIMPLEMENTED, 'unavailable', true],
  ] as const)('maps code %i to category %s (counted by default: %s)', (code, category, counted) => {
    const error = spiceDbErrorFrom('CheckPermission', serviceError(code, 'it broke'), keep);
    expect(error).toBeInstanceOf(SpiceDbError);
    const failure = error as SpiceDbError;
    expect(failure.code).toBe('BREAKWATER_SPICEDB');
    expect(failure.grpcCode).toBe(code);
    expect(failure.grpcStatus).toBe(grpcStatusName(code));
    expect(failure.category).toBe(category);
    expect(failure.configuration).toBe(false);
    expect(classifyError(failure)).toBe(category);
    expect(FailurePolicy.default().isFailure(failure)).toBe(counted);
    expect(failure.message).toContain(
      `SpiceDB CheckPermission failed: ${grpcStatusName(code)}: it broke`,
    );
  });

  it('reads a CANCELLED as SpiceDB giving up on the call, not the caller (our abort never gets here)', () => {
    const error = spiceDbErrorFrom(
      'CheckPermission',
      serviceError(status.CANCELLED, 'context canceled'),
      keep,
    );
    expect(error).toBeInstanceOf(SpiceDbError);
    expect((error as SpiceDbError).category).toBe('unavailable');
    expect(FailurePolicy.default().isFailure(error)).toBe(true);
    expect(error.message).toBe(
      'SpiceDB CheckPermission failed: CANCELLED: context canceled (SpiceDB or a proxy in front of it cancelled the call: is SpiceDB shutting down or restarting?)',
    );
  });

  it.each([status.UNAUTHENTICATED, status.PERMISSION_DENIED])(
    'marks code %i as a configuration problem that counts',
    (code) => {
      const error = spiceDbErrorFrom(
        'ReadSchema',
        serviceError(code, 'invalid preshared key'),
        keep,
      );
      expect(error).toBeInstanceOf(SpiceDbError);
      const failure = error as SpiceDbError;
      expect(failure.configuration).toBe(true);
      expect(failure.category).toBe('unavailable');
      expect(FailurePolicy.default().isFailure(failure)).toBe(true);
      expect(failure.message).toContain('configuration problem');
      expect(failure.message).toContain('invalid preshared key');
    },
  );

  it.each([status.INVALID_ARGUMENT, status.FAILED_PRECONDITION, status.NOT_FOUND])(
    'turns request code %i into an AuthorizationRequestError in SpiceDB words',
    (code) => {
      const said = 'relation/permission `nope` not found under definition `document`';
      const error = spiceDbErrorFrom('CheckPermission', serviceError(code, said), keep);
      expect(error).toBeInstanceOf(AuthorizationRequestError);
      expect((error as AuthorizationRequestError).field).toBe('request');
      expect(error.message).toBe(
        `SpiceDB CheckPermission refused the check (${grpcStatusName(code)}): ${said}`,
      );
    },
  );

  it('keeps request codes a SpiceDbError when told to (a health probe asks no question)', () => {
    const error = spiceDbErrorFrom(
      'ReadSchema',
      serviceError(status.FAILED_PRECONDITION, 'odd'),
      keep,
      undefined,
      false,
    );
    expect(error).toBeInstanceOf(SpiceDbError);
    expect((error as SpiceDbError).category).toBe('unavailable');
  });

  it("names a bulk item's index, reading a google.rpc.Status's message", () => {
    const error = spiceDbErrorFrom(
      'CheckBulkPermissions',
      { code: status.UNAVAILABLE, message: 'dispatch failed', details: [] },
      keep,
      3,
    );
    expect(error).toBeInstanceOf(SpiceDbError);
    expect((error as SpiceDbError).item).toBe(3);
    expect(error.message).toContain(
      'SpiceDB CheckBulkPermissions check 3 failed: UNAVAILABLE: dispatch failed',
    );
    const refused = spiceDbErrorFrom(
      'CheckBulkPermissions',
      { code: status.INVALID_ARGUMENT, message: 'bad id', details: [] },
      keep,
      1,
    );
    expect(refused.message).toBe(
      'SpiceDB CheckBulkPermissions check 1 refused the check (INVALID_ARGUMENT): bad id',
    );
    expect(refused).toBeInstanceOf(AuthorizationRequestError);
    expect((refused as AuthorizationRequestError).item).toBe(1);
  });

  it('treats something without a code as UNKNOWN, and says when there are no details', () => {
    const error = spiceDbErrorFrom(
      'CheckPermission',
      new Error('Channel has been shut down'),
      keep,
    );
    expect((error as SpiceDbError).grpcStatus).toBe('UNKNOWN');
    expect(error.message).toContain('Channel has been shut down');
    expect(spiceDbErrorFrom('CheckPermission', undefined, keep).message).toContain(
      'no details given',
    );
  });

  it('copies neither the metadata nor the cause, and scrubs what the server said', () => {
    const metadata = new Metadata();
    metadata.set('authorization', 'Bearer s3cr3t-token');
    const raw = serviceError(status.UNAUTHENTICATED, 'token s3cr3t-token is not valid', metadata);
    const error = spiceDbErrorFrom('CheckPermission', raw, (text) =>
      text.split('s3cr3t-token').join('[redacted]'),
    );
    expect(error.message).toContain('token [redacted] is not valid');
    expect(error.cause).toBeUndefined();
    const shown = inspect(error, { showHidden: true, depth: Number.POSITIVE_INFINITY });
    expect(shown).not.toContain('s3cr3t-token');
    expect(shown).not.toContain('metadata');
    expect(JSON.stringify(error)).not.toContain('s3cr3t-token');
  });
});
