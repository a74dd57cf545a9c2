import { describe, expect, it } from 'vitest';
import { aggregateOutcomes } from './aggregate.js';
import type { ScanOutcome } from './result.js';

const clean: ScanOutcome = { type: 'clean' };
const infected = (engine: string, ...names: string[]): ScanOutcome => ({
  type: 'infected',
  threats: names.map((name) => ({ name, severity: 'high', engine })),
});
const suspicious = (confidence: number): ScanOutcome => ({
  type: 'suspicious',
  reason: `heuristic ${confidence}`,
  confidence,
});
const error = (recoverable: boolean): ScanOutcome => ({ type: 'error', recoverable });

describe('aggregateOutcomes', () => {
  it('ranks infected > unrecoverable error > suspicious > recoverable error > clean', () => {
    expect(aggregateOutcomes([clean, error(true)])).toEqual(error(true));
    expect(aggregateOutcomes([error(true), suspicious(0.4), clean])).toEqual(suspicious(0.4));
    expect(aggregateOutcomes([suspicious(0.9), error(false), clean])).toEqual(error(false));
    expect(aggregateOutcomes([suspicious(0.9), infected('a', 'X'), error(true)])).toEqual(
      infected('a', 'X'),
    );
    expect(aggregateOutcomes([clean, clean])).toEqual(clean);
  });

  it('calls a file infected when one engine found malware and another failed for good', () => {
    // The failure leaves the verdict incomplete, but no further verdict could make it clean.
    expect(aggregateOutcomes([infected('a', 'X'), error(false), clean])).toEqual(
      infected('a', 'X'),
    );
    expect(aggregateOutcomes([error(false), infected('a', 'X'), infected('b', 'Y')])).toEqual({
      type: 'infected',
      threats: [
        { name: 'X', severity: 'high', engine: 'a' },
        { name: 'Y', severity: 'high', engine: 'b' },
      ],
    });
  });

  it("merges every engine's threats, each once", () => {
    const merged = aggregateOutcomes([
      infected('a', 'X', 'Y'),
      clean,
      infected('b', 'X'),
      infected('a', 'Y'),
    ]);
    expect(merged).toEqual({
      type: 'infected',
      threats: [
        { name: 'X', severity: 'high', engine: 'a' },
        { name: 'Y', severity: 'high', engine: 'a' },
        { name: 'X', severity: 'high', engine: 'b' },
      ],
    });
  });

  it('keeps the most confident suspicion', () => {
    expect(aggregateOutcomes([suspicious(0.3), suspicious(0.8), suspicious(0.5)])).toEqual(
      suspicious(0.8),
    );
  });

  it('has no verdict for no outcomes', () => {
    expect(() => aggregateOutcomes([])).toThrow(/no outcomes/);
  });
});
