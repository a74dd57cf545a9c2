import { ScanError } from '@breakwater/scanbridge';
import { show } from './filename.js';
import { UploadError } from './upload-error.js';

/** When no engine says when it may answer again (a timeout, a refused connection). */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * What a failed scan of `filename` answers. A file too large for an engine or the manager is
 * 413; every engine failing for a reason that passes (open breakers, timeouts, engines down) is
 * 503, with the soonest moment an engine's breaker lets calls through again. Anything else (a
 * bad configuration, a bug, a cancelled scan) is not the client's to fix and passes as it is.
 * A policy decision is never an error: a blocked file is an answer.
 */
export function scanFailure(error: unknown, filename: string): unknown {
  if (!(error instanceof ScanError)) return error;
  if (error.kind === 'file_too_large') {
    return new UploadError(
      'BREAKWATER_UPLOAD_TOO_LARGE',
      `The file ${show(filename)} is too large to scan: ${error.message}`,
      { cause: error },
    );
  }
  if (error.failures.length === 0 || !error.recoverable) return error;
  const retryAfterSeconds = retryAfterSecondsOf(error);
  return new UploadError(
    'BREAKWATER_UPLOAD_ENGINES_UNAVAILABLE',
    `Every malware engine failed, so there is no verdict on ${show(filename)}; retry in ${retryAfterSeconds} s. ${error.message}`,
    { cause: error, retryAfterSeconds },
  );
}

/**
 * The soonest an engine asks to be tried again (an open breaker's remaining open time, a rate
 * limit's wait). A breaker forced open has no such moment: it waits for an operator.
 */
function retryAfterSecondsOf(error: ScanError): number {
  let soonest: number | undefined;
  for (const { error: failure } of error.failures) {
    const ms = failure.retryAfter;
    if (ms !== undefined && Number.isFinite(ms) && (soonest === undefined || ms < soonest))
      soonest = ms;
  }
  return soonest === undefined
    ? DEFAULT_RETRY_AFTER_SECONDS
    : Math.max(1, Math.ceil(soonest / 1000));
}
