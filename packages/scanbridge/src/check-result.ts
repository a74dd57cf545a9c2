import { ScanError } from './errors.js';
import { type FileMetadata, type ScanResult, SEVERITIES } from './result.js';

/**
 * An engine's result, checked before it counts: an outcome the aggregation does not know
 * could otherwise rank as nothing and leave "clean" standing, and a result about other bytes
 * (a file that changed between reads) is not a verdict on this one.
 */
export function checkResult(result: ScanResult, engine: string, file: FileMetadata): ScanResult {
  const problem = outcomeProblem(result) ?? hashProblem(result, file);
  if (problem !== undefined) {
    throw new ScanError('ambiguous_response', `${engine}: unusable result: ${problem}`, { engine });
  }
  return result;
}

function outcomeProblem(result: ScanResult): string | undefined {
  const outcome = result?.outcome as unknown as Record<string, unknown> | undefined;
  switch (outcome?.type) {
    case 'clean':
      return undefined;
    case 'error':
      return typeof outcome.recoverable === 'boolean'
        ? undefined
        : 'an error outcome without "recoverable"';
    case 'suspicious': {
      const { confidence } = outcome;
      return typeof confidence === 'number' && confidence >= 0 && confidence <= 1
        ? undefined
        : 'a suspicious outcome needs a confidence between 0 and 1';
    }
    case 'infected': {
      const { threats } = outcome;
      if (!Array.isArray(threats) || threats.length === 0)
        return 'an infected outcome without threats';
      const bad = threats.find(
        (t: { name?: unknown; severity?: unknown }) =>
          typeof t?.name !== 'string' || !SEVERITIES.includes(t.severity as never),
      );
      return bad === undefined ? undefined : 'a threat without a name or with an unknown severity';
    }
    default:
      return `unknown outcome type ${JSON.stringify(outcome?.type)}`;
  }
}

function hashProblem(result: ScanResult, file: FileMetadata): string | undefined {
  const sha256 = result.fileMetadata?.hash?.sha256;
  return sha256 === file.hash.sha256
    ? undefined
    : `it describes other content (sha256 ${String(sha256)}, expected ${file.hash.sha256}); the file changed during the scan`;
}
