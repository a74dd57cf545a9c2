import type { ScanOutcome, ThreatInfo } from './result.js';

// Higher ranks win. An infection outranks everything: a failed engine leaves the verdict
// incomplete, but no verdict it could have given would make the file clean, and a policy
// written on the outcome must see the malware. A file an engine could not judge at all
// (unrecoverable error) outranks a suspicion; a transient error outranks "clean", because
// clean from some engines is not clean from all.
function rank(outcome: ScanOutcome): number {
  switch (outcome.type) {
    case 'error':
      return outcome.recoverable ? 1 : 3;
    case 'infected':
      return 4;
    case 'suspicious':
      return 2;
    case 'clean':
      return 0;
  }
}

/**
 * One outcome from many: infected (threats merged) > unrecoverable error > suspicious
 * (highest confidence) > recoverable error > clean. There is no verdict of nothing.
 */
export function aggregateOutcomes(outcomes: readonly ScanOutcome[]): ScanOutcome {
  const [first, ...rest] = outcomes;
  if (first === undefined) throw new Error('aggregateOutcomes: no outcomes to aggregate');
  let best = first;
  for (const outcome of rest) {
    if (rank(outcome) > rank(best)) best = outcome;
    else if (
      best.type === 'suspicious' &&
      outcome.type === 'suspicious' &&
      outcome.confidence > best.confidence
    ) {
      best = outcome;
    }
  }
  if (best.type !== 'infected') return best;
  return { type: 'infected', threats: mergeThreats(outcomes) };
}

/** Every engine's threats, each (engine, name) once. */
function mergeThreats(outcomes: readonly ScanOutcome[]): ThreatInfo[] {
  const seen = new Map<string, ThreatInfo>();
  for (const outcome of outcomes) {
    if (outcome.type !== 'infected') continue;
    for (const threat of outcome.threats) {
      const key = `${threat.engine}\u0000${threat.name}`;
      if (!seen.has(key)) seen.set(key, threat);
    }
  }
  return [...seen.values()];
}
