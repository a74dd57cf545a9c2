import { describe, expect, it } from 'vitest';
import { infected, report } from '../../test/reports.js';
import { Condition, conditionHolds } from './condition.js';

const holds = (condition: Condition, r = report()) => conditionHolds(condition, r, r.context);

describe('Condition', () => {
  it('outcomeIs matches the aggregated outcome', () => {
    expect(holds(Condition.outcomeIs('clean'))).toBe(true);
    expect(holds(Condition.outcomeIs('infected'))).toBe(false);
    expect(
      holds(
        Condition.outcomeIs('infected'),
        report({ outcome: infected({ name: 'X', severity: 'low' }) }),
      ),
    ).toBe(true);
  });

  it("tenantEquals and tenantIn read the caller's context, else the report's", () => {
    const r = report({ context: { tenantId: 'acme' } });
    expect(holds(Condition.tenantEquals('acme'), r)).toBe(true);
    expect(holds(Condition.tenantIn(['globex', 'acme']), r)).toBe(true);
    expect(holds(Condition.tenantIn(['globex']), r)).toBe(false);
    expect(holds(Condition.tenantEquals('acme'))).toBe(false);
    expect(conditionHolds(Condition.tenantEquals('globex'), r, { tenantId: 'globex' })).toBe(true);
  });

  it('fileTypeIn matches extensions and MIME types, wildcards included', () => {
    const pdf = report({ filename: 'Invoice.PDF', mimeType: 'application/pdf' });
    expect(holds(Condition.fileTypeIn(['pdf']), pdf)).toBe(true);
    expect(holds(Condition.fileTypeIn(['.pdf']), pdf)).toBe(true);
    expect(holds(Condition.fileTypeIn(['application/pdf']), pdf)).toBe(true);
    expect(holds(Condition.fileTypeIn(['application/*']), pdf)).toBe(true);
    expect(holds(Condition.fileTypeIn(['image/*', 'exe']), pdf)).toBe(false);
    expect(holds(Condition.fileTypeIn(['pdf']), report({ filename: 'pdf' }))).toBe(false);
  });

  it('severityAtLeast and threatNameContains look at the threats found', () => {
    const r = report({ outcome: infected({ name: 'Win.Trojan.Agent', severity: 'medium' }) });
    expect(holds(Condition.severityAtLeast('low'), r)).toBe(true);
    expect(holds(Condition.severityAtLeast('medium'), r)).toBe(true);
    expect(holds(Condition.severityAtLeast('high'), r)).toBe(false);
    expect(holds(Condition.threatNameContains('trojan'), r)).toBe(true);
    expect(holds(Condition.threatNameContains('worm'), r)).toBe(false);
    expect(holds(Condition.severityAtLeast('low'))).toBe(false);
  });

  it('fileSizeExceeds and fileSizeBelow are strict', () => {
    const r = report({ size: 1_000 });
    expect(holds(Condition.fileSizeExceeds(999), r)).toBe(true);
    expect(holds(Condition.fileSizeExceeds(1_000), r)).toBe(false);
    expect(holds(Condition.fileSizeBelow(1_001), r)).toBe(true);
    expect(holds(Condition.fileSizeBelow(1_000), r)).toBe(false);
  });

  it("sourceEquals matches a result's source (fail-open) or the context's; engineEquals a result's engine", () => {
    const failOpen = report({ results: [{ engine: 'clamav-failopen', source: 'failopen' }] });
    expect(holds(Condition.sourceEquals('failopen'), failOpen)).toBe(true);
    expect(holds(Condition.sourceEquals('failopen'))).toBe(false);
    expect(
      holds(Condition.sourceEquals('upload-form'), report({ context: { source: 'upload-form' } })),
    ).toBe(true);
    expect(holds(Condition.engineEquals('clamav-failopen'), failOpen)).toBe(true);
    expect(holds(Condition.engineEquals('clamav'), failOpen)).toBe(false);
  });

  it('combines with and, or, not, always, never', () => {
    const yes = Condition.always();
    const no = Condition.never();
    expect(holds(Condition.and(yes, yes))).toBe(true);
    expect(holds(Condition.and(yes, no))).toBe(false);
    expect(holds(Condition.or(no, yes))).toBe(true);
    expect(holds(Condition.or(no, no))).toBe(false);
    expect(holds(Condition.not(no))).toBe(true);
  });

  it('rejects bad arguments with the condition and the value named', () => {
    expect(() => Condition.outcomeIs('virus' as never)).toThrow(
      'Invalid policy at Condition.outcomeIs.outcome: expected one of clean, infected, suspicious, error, got "virus"',
    );
    expect(() => Condition.fileSizeExceeds(-1)).toThrow(
      /fileSizeExceeds.bytes: expected a whole number of bytes >= 0, got -1/,
    );
    expect(() => Condition.tenantIn([])).toThrow(/expected a non-empty array of strings/);
    expect(() => Condition.and()).toThrow(/expected a non-empty array of conditions/);
    expect(() => Condition.not({ type: 'sometimes' } as never)).toThrow(
      /Condition.not.condition.type: unknown condition "sometimes"/,
    );
  });
});
