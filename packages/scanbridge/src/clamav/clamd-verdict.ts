import { ScanError } from '../errors.js';
import type { ScanOutcome, Severity } from '../result.js';

/**
 * Names that say the content was not (all) looked at, or could not be made sense of, rather
 * than that something bad was found in it: clamd with `AlertExceedsMax yes` names the limit a
 * file ran into (`MaxRecursion`, `MaxFileSize`, `MaxScanSize`, `MaxFiles` ...) instead of
 * passing the unscanned rest as clean; `AlertEncrypted` names an archive or document it could
 * not open; `AlertBrokenMedia`/`AlertBrokenExecutables` a file whose format is damaged.
 * Phishing, macro and exploit heuristics are findings, and stay threats.
 */
const NOT_SCANNED =
  /^Heuristics\.(?:Limits\.Exceeded\.|Encrypted\.|Broken\.Media\.|Broken\.Executable(?:$|\.))/;

/** How sure an unscanned file makes us: not at all either way, so as likely as not. */
export const LIMIT_CONFIDENCE = 0.5;

/**
 * clamd's verdict on a stream: `stream: OK`, `stream: <name> FOUND`, `<message> ERROR`.
 * A scan limit, an encrypted or a broken file is `suspicious` (clamd could not look at all of
 * it), with clamd's name for it as the reason; an ERROR throws; anything
 * else is not a verdict and throws `ambiguous_response`.
 */
export function verdictOf(reply: string, engine: string): ScanOutcome {
  if (reply === 'stream: OK') return { type: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found?.[1] !== undefined) {
    const name = found[1];
    if (NOT_SCANNED.test(name)) {
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
