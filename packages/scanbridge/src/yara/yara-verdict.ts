import { type ScanOutcome, SEVERITIES, type Severity, type ThreatInfo } from '../result.js';
import type { YaraMatch } from './yara-protocol.js';

/** A rule with this tag says "look at this", not "this is malware". */
export const SUSPICIOUS_TAG = 'suspicious';
const DEFAULT_SEVERITY: Severity = 'high';
const DEFAULT_CONFIDENCE = 0.5;

/**
 * Matching rules as an outcome: any rule without the `suspicious` tag makes the file infected,
 * one threat per rule (severity from its `severity` meta, else high); only `suspicious` rules
 * make it suspicious, as confident as the most confident of them (`confidence` meta, 0..1,
 * else 0.5); no rule, clean.
 */
export function yaraVerdict(matches: readonly YaraMatch[], engine: string): ScanOutcome {
  const threats: ThreatInfo[] = [];
  const suspicious: YaraMatch[] = [];
  for (const match of matches) {
    if (match.tags.includes(SUSPICIOUS_TAG)) suspicious.push(match);
    else threats.push(threatOf(match, engine));
  }
  if (threats.length > 0) return { type: 'infected', threats };
  if (suspicious.length === 0) return { type: 'clean' };
  const confidence = Math.max(...suspicious.map((m) => confidenceOf(meta(m).confidence)));
  const names = suspicious.map((m) => m.ruleIdentifier).join(', ');
  return { type: 'suspicious', reason: `YARA rules matched: ${names}`, confidence };
}

function threatOf(match: YaraMatch, engine: string): ThreatInfo {
  const { severity, description } = meta(match);
  return {
    name: match.ruleIdentifier,
    severity: severityOf(severity),
    engine,
    signatureId: `${match.namespace}.${match.ruleIdentifier}`,
    ...(typeof description === 'string' && description.length > 0 ? { description } : {}),
    ...(match.tags.length > 0 ? { category: match.tags.join(',') } : {}),
  };
}

function meta(match: YaraMatch): Record<string, unknown> {
  return match.meta;
}

/** `severity = "critical"` (any case); anything else is the default. */
export function severityOf(value: unknown): Severity {
  const name = typeof value === 'string' ? value.toLowerCase() : undefined;
  return SEVERITIES.find((s) => s === name) ?? DEFAULT_SEVERITY;
}

function confidenceOf(value: unknown): number {
  return typeof value === 'number' && value >= 0 && value <= 1 ? value : DEFAULT_CONFIDENCE;
}
