import { ScanError } from '../errors.js';
import type { ScanOutcome, Severity } from '../result.js';

/**
 * clamd with `AlertExceedsMax yes` names the limit a file ran into (`MaxRecursion`,
 * `MaxFileSize`, `MaxScanSize`, `MaxFiles` ...) instead of passing the unscanned rest as clean.
 */
const LIMIT_EXCEEDED = 'Heuristics.Limits.Exceeded.';

/** How sure a limit makes us: not at all either way, so as likely as not. */
export const LIMIT_CONFIDENCE = 0.5;

/**
 * clamd's verdict on a stream: `stream: OK`, `stream: <name> FOUND`, `<message> ERROR`.
 * A scan limit is `suspicious` (the file was not read to its end); an ERROR throws; anything
 * else is not a verdict and throws `ambiguous_response`.
 */
export function verdictOf(reply: string, engine: string): ScanOutcome {
  if (reply === 'stream: OK') return { type: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found?.[1] !== undefined) {
    const name = found[1];
    if (name.startsWith(LIMIT_EXCEEDED)) {
      return { type: 'suspicious', reason: name, confidence: LIMIT_CONFIDENCE };
    }
    return {
      type: 'infected',
      threats: [{ name, severity: severityOf(name), engine, signatureId: name }],
    };
  }
  if (reply.endsWith('ERROR')) {
    if (/size limit exceeded/i.test(reply)) {
      throw new ScanError(
        'file_too_large',
        `${engine}: clamd: ${reply} (the file is larger than clamd's StreamMaxLength: raise that in clamd.conf, or set maxFileSize to it so such files are refused before they are sent)`,
        { engine },
      );
    }
    throw new ScanError('engine_unavailable', `${engine}: clamd: ${reply}`, { engine });
  }
  throw new ScanError(
    'ambiguous_response',
    `${engine}: unexpected reply from clamd: ${JSON.stringify(reply.slice(0, 200))}`,
    { engine },
  );
}

// ClamAV names carry their class: potentially unwanted applications and heuristics are not
// the same thing as a known piece of malware.
function severityOf(name: string): Severity {
  if (name.startsWith('PUA.')) return 'low';
  if (name.startsWith('Heuristics.')) return 'medium';
  return 'high';
}
