import { classifyError, FailurePolicy } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { ScanError, type ScanErrorKind, toScanError } from './errors.js';

const error = (kind: ScanErrorKind) => new ScanError(kind, `a ${kind} error`, { engine: 'clamav' });

describe('ScanError', () => {
  it('is one class with a kind, a stable code and the engine', () => {
    const e = new ScanError('rate_limited', 'slow down', {
      engine: 'virustotal',
      retryAfter: 60_000,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ScanError');
    expect(e.code).toBe('SCANBRIDGE_RATE_LIMITED');
    expect(e.retryAfter).toBe(60_000);
    expect(e.toJSON()).toEqual({
      name: 'ScanError',
      kind: 'rate_limited',
      message: 'slow down',
      recoverable: true,
      engine: 'virustotal',
      retryAfter: 60_000,
    });
  });

  it('counts as a breaker failure exactly as the guide says: timeouts, connections, unavailable', () => {
    const policy = FailurePolicy.default();
    const counted = (['timeout', 'connection_failed', 'engine_unavailable'] as const).map(error);
    const notCounted = (
      [
        'rate_limited',
        'malformed_file',
        'file_too_large',
        'circuit_open',
        'io',
        'file_not_found',
        'ambiguous_response',
        'authentication_failed',
        'cancelled',
        'internal',
        'configuration',
      ] as const
    ).map(error);
    for (const e of counted) expect(policy.isFailure(e), e.kind).toBe(true);
    for (const e of notCounted) expect(policy.isFailure(e), e.kind).toBe(false);
    expect(classifyError(error('rate_limited'))).toBe('rate_limited');
    expect(new FailurePolicy({ countRateLimited: true }).isFailure(error('rate_limited'))).toBe(
      true,
    );
    expect(FailurePolicy.connectionOnly().isFailure(error('engine_unavailable'))).toBe(false);
    expect(FailurePolicy.allErrors().isFailure(error('malformed_file'))).toBe(true);
    expect(FailurePolicy.allErrors().isFailure(error('cancelled'))).toBe(false);
  });

  it('says which failures are worth retrying', () => {
    const recoverable = [
      'engine_unavailable',
      'timeout',
      'connection_failed',
      'circuit_open',
      'rate_limited',
      'ambiguous_response',
    ];
    for (const kind of recoverable)
      expect(error(kind as ScanErrorKind).recoverable, kind).toBe(true);
    for (const kind of [
      'malformed_file',
      'file_too_large',
      'io',
      'file_not_found',
      'authentication_failed',
      'cancelled',
      'internal',
      'configuration',
    ]) {
      expect(error(kind as ScanErrorKind).recoverable, kind).toBe(false);
    }
  });
});

describe('toScanError', () => {
  it('keeps ScanErrors and maps system errors by what they are', () => {
    const original = error('timeout');
    expect(toScanError(original)).toBe(original);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(toScanError(refused, 'clamav')).toMatchObject({
      kind: 'connection_failed',
      engine: 'clamav',
      cause: refused,
    });
    expect(toScanError(Object.assign(new Error('gone'), { code: 'ENOENT' })).kind).toBe(
      'file_not_found',
    );
    expect(toScanError(Object.assign(new Error('denied'), { code: 'EACCES' })).kind).toBe('io');
    expect(toScanError(new DOMException('aborted', 'AbortError')).kind).toBe('cancelled');
    expect(toScanError({ status: 503 }).kind).toBe('engine_unavailable');
  });

  it('calls an unknown error internal, never a verdict', () => {
    const bug = new TypeError('undefined is not a function');
    const mapped = toScanError(bug, 'mock');
    expect(mapped.kind).toBe('internal');
    expect(mapped.message).toBe('mock: undefined is not a function');
  });
});
