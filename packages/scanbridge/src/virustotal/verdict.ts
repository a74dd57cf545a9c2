import { ScanError } from '../errors.js';
import type { ScanOutcome, Severity, ThreatInfo } from '../result.js';

/** VirusTotal's per-category engine counts; the four it always reports are checked. */
export interface VtStats {
  readonly malicious: number;
  readonly suspicious: number;
  readonly undetected: number;
  readonly harmless: number;
  readonly [category: string]: number;
}

const COUNTED = ['malicious', 'suspicious', 'undetected', 'harmless'] as const;
const SEVERITY: Readonly<Record<string, Severity>> = { malicious: 'high', suspicious: 'medium' };

export interface VtVerdict {
  readonly outcome: ScanOutcome;
  readonly stats: VtStats;
}

/**
 * The verdict in a file report (`last_analysis_stats` / `last_analysis_results`) or a
 * completed analysis (`stats` / `results`). Any engine's malicious or suspicious finding is a
 * threat; "clean" needs at least one engine that looked and found nothing. When the counts and
 * the per-engine results disagree, the worse of the two stands: a detection either one reports
 * is a detection.
 */
export function vtVerdict(stats: unknown, results: unknown, engine: string): VtVerdict {
  const checked = checkStats(stats, engine);
  const found = threats(checked, results, engine);
  if (found.length > 0) return { outcome: { type: 'infected', threats: found }, stats: checked };
  if (checked.undetected + checked.harmless === 0) {
    throw new ScanError(
      'ambiguous_response',
      `${engine}: no VirusTotal engine could analyse the file (${describeStats(checked)})`,
      { engine },
    );
  }
  return { outcome: { type: 'clean' }, stats: checked };
}

/** The counts, and only the counts: nothing else from the server goes into a result. */
function checkStats(stats: unknown, engine: string): VtStats {
  if (typeof stats === 'object' && stats !== null) {
    const counts = Object.fromEntries(
      Object.entries(stats).filter(([, n]) => Number.isInteger(n) && (n as number) >= 0),
    );
    if (COUNTED.every((key) => key in counts)) return counts as VtStats;
  }
  throw new ScanError('ambiguous_response', `${engine}: VirusTotal's answer has no usable stats`, {
    engine,
  });
}

/**
 * One threat per name, saying which of VirusTotal's engines reported it; detections the stats
 * count beyond the listed results (VirusTotal can omit results) are one more threat each.
 */
function threats(stats: VtStats, results: unknown, engine: string): ThreatInfo[] {
  const byName = new Map<string, { severity: Severity; reporters: string[] }>();
  const listed: Record<string, number> = { malicious: 0, suspicious: 0 };
  const entries = typeof results === 'object' && results !== null ? Object.entries(results) : [];
  for (const [key, value] of entries) {
    const { category, result, engine_name } = (value ?? {}) as Record<string, unknown>;
    const severity = typeof category === 'string' ? SEVERITY[category] : undefined;
    if (severity === undefined) continue;
    listed[category as string] = (listed[category as string] ?? 0) + 1;
    const name = typeof result === 'string' && result.length > 0 ? result : category;
    const found = byName.get(name as string) ?? { severity, reporters: [] };
    if (severity === 'high') found.severity = 'high';
    found.reporters.push(typeof engine_name === 'string' ? engine_name : key);
    byName.set(name as string, found);
  }
  const found = [...byName].map(([name, { severity, reporters }]) => ({
    name,
    severity,
    engine,
    description: `reported by ${reporters.join(', ')}`,
  }));
  for (const [category, severity] of Object.entries(SEVERITY)) {
    const unlisted = (stats[category] ?? 0) - (listed[category] ?? 0);
    if (unlisted <= 0) continue;
    found.push({
      name: `VirusTotal.${category}`,
      severity,
      engine,
      description: `counted by ${unlisted} of VirusTotal's engines in its stats, with no per-engine result`,
    });
  }
  return found;
}

function describeStats(stats: VtStats): string {
  return Object.entries(stats)
    .map(([category, count]) => `${category} ${count}`)
    .join(', ');
}
