import { ScanError } from '@breakwater/scanbridge';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_AFTER_SECONDS, scanFailure } from './scan-failure.js';
import { UploadError } from './upload-error.js';

/** A failed scan as the manager reports one: every engine's failure, and one error for all. */
function everyEngineFailed(...failures: ScanError[]): ScanError {
  const [first] = failures;
  return new ScanError(first?.kind ?? 'engine_unavailable', 'No engine could scan the file', {
    failures: failures.map((error) => ({ engine: error.engine ?? 'engine', error })),
  });
}

const open = (engine: string, retryAfter: number) =>
  new ScanError('circuit_open', `${engine}: open`, { engine, retryAfter });

describe('scanFailure', () => {
  it('is 503 with the soonest reopening when every engine failed for a passing reason', () => {
    const error = everyEngineFailed(open('clamav', 30_000), open('yara', 2_100));
    const mapped = scanFailure(error, 'a.pdf');
    expect(mapped).toBeInstanceOf(UploadError);
    expect(mapped).toMatchObject({
      statusCode: 503,
      code: 'BREAKWATER_UPLOAD_ENGINES_UNAVAILABLE',
      retryAfterSeconds: 3,
      cause: error,
    });
    expect((mapped as UploadError).message).toContain('"a.pdf"');
  });

  it('waits at least a second, and the default when no engine says (or one is forced open)', () => {
    expect(scanFailure(everyEngineFailed(open('a', 10)), 'f')).toMatchObject({
      retryAfterSeconds: 1,
    });
    const timeouts = everyEngineFailed(
      new ScanError('timeout', 'a: timed out', { engine: 'a' }),
      open('b', Number.POSITIVE_INFINITY),
    );
    expect(scanFailure(timeouts, 'f')).toMatchObject({
      statusCode: 503,
      retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
    });
  });

  it('is 413 for a file too large for the engines or the manager', () => {
    const error = new ScanError('file_too_large', 'the input is too large: the limit is 10 bytes');
    expect(scanFailure(error, 'big.iso')).toMatchObject({
      statusCode: 413,
      code: 'BREAKWATER_UPLOAD_TOO_LARGE',
      message: expect.stringContaining('the limit is 10 bytes'),
    });
  });

  it('passes on what the client cannot fix: a failure that lasts, a cancelled scan, a bug', () => {
    const configuration = everyEngineFailed(
      new ScanError('configuration', 'yara: rules do not compile', { engine: 'yara' }),
    );
    expect(scanFailure(configuration, 'f')).toBe(configuration);
    const cancelled = new ScanError('cancelled', 'The scan was cancelled');
    expect(scanFailure(cancelled, 'f')).toBe(cancelled);
    const bug = new TypeError('undefined is not a function');
    expect(scanFailure(bug, 'f')).toBe(bug);
  });
});
