import { describe, expect, it } from 'vitest';
import { infected, report } from '../../test/reports.js';
import { PolicyAction } from './action.js';
import { Condition } from './condition.js';
import { PolicyEngine } from './engine.js';
import { PolicyError } from './errors.js';
import { defaultPolicy, strictPolicy } from './presets.js';
import { PolicyRule } from './rule.js';

const malware = report({
  outcome: infected({ name: 'Eicar', severity: 'high' }),
  context: { tenantId: 'acme' },
});

describe('PolicyEngine', () => {
  it('tries rules by priority, highest first, and the first match wins', () => {
    const engine = new PolicyEngine()
      .addRule(
        new PolicyRule('allow-acme', PolicyAction.allow()).withCondition(
          Condition.tenantEquals('acme'),
        ),
      )
      .addRule(
        new PolicyRule('block-infected', PolicyAction.block('malware'))
          .withName('Block malware')
          .withCondition(Condition.outcomeIs('infected'))
          .withPriority(10),
      );
    expect(engine.evaluate(malware)).toEqual({
      action: { type: 'block', reason: 'malware' },
      matchedRuleId: 'block-infected',
      reason: 'rule "block-infected" (Block malware) matched: malware',
    });
    expect(engine.orderedRules().map((r) => r.id)).toEqual(['block-infected', 'allow-acme']);
  });

  it('keeps the order rules were added among equal priorities', () => {
    const engine = new PolicyEngine()
      .addRule(new PolicyRule('first', PolicyAction.allowWithWarning('first')))
      .addRule(new PolicyRule('second', PolicyAction.allow()));
    expect(engine.evaluate(report()).matchedRuleId).toBe('first');
  });

  it("ANDs a rule's conditions and skips disabled rules", () => {
    const engine = new PolicyEngine({ defaultAction: PolicyAction.allow() })
      .addRule(
        new PolicyRule('both', PolicyAction.block('both'))
          .withCondition(Condition.outcomeIs('infected'))
          .withCondition(Condition.tenantEquals('globex')),
      )
      .addRule(new PolicyRule('off', PolicyAction.block('off')).withEnabled(false));
    expect(engine.evaluate(malware)).toEqual({
      action: { type: 'allow' },
      reason: 'no rule matched; the default action applies',
    });
  });

  it('needs review by default when nothing matches: no policy allows by accident', () => {
    expect(new PolicyEngine().evaluate(report()).action).toEqual({ type: 'require_review' });
  });

  it("takes the context given to evaluate over the report's", () => {
    const engine = new PolicyEngine({ defaultAction: PolicyAction.allow() }).addRule(
      new PolicyRule('vip', PolicyAction.block('vip')).withCondition(Condition.tenantEquals('vip')),
    );
    expect(engine.evaluate(malware, { tenantId: 'vip' }).matchedRuleId).toBe('vip');
  });

  it('keeps rules valid: their fields change only through the checked builders', () => {
    const rule = new PolicyRule('r', PolicyAction.allow()).withPriority(3);
    expect(() => {
      (rule as unknown as { priority: number }).priority = Number.NaN;
    }).toThrow(TypeError);
    expect(rule.priority).toBe(3);
    expect(() => (rule.conditions as Condition[]).push({ type: 'bogus' } as never)).toThrow(
      TypeError,
    );
  });

  it('refuses conditions nested absurdly deep', () => {
    let condition: object = { type: 'always' };
    for (let i = 0; i < 40; i++) condition = { type: 'not', condition };
    expect(() =>
      PolicyEngine.fromJSON({
        rules: [{ id: 'deep', action: { type: 'allow' }, conditions: [condition] }],
      }),
    ).toThrow(/conditions nest deeper than 32 levels/);
  });

  it('refuses duplicate rule ids', () => {
    const engine = new PolicyEngine().addRule(new PolicyRule('a', PolicyAction.allow()));
    expect(() => engine.addRule(new PolicyRule('a', PolicyAction.allow()))).toThrow(
      /rule "a": a rule with this id was already added/,
    );
  });
});

describe('PolicyAction', () => {
  it('makes plain objects', () => {
    expect(PolicyAction.allow()).toEqual({ type: 'allow' });
    expect(PolicyAction.allowWithWarning('large file')).toEqual({
      type: 'allow_with_warning',
      message: 'large file',
    });
    expect(PolicyAction.quarantine('suspicious')).toEqual({
      type: 'quarantine',
      reason: 'suspicious',
    });
    expect(PolicyAction.block('malware')).toEqual({ type: 'block', reason: 'malware' });
    expect(PolicyAction.requireReview()).toEqual({ type: 'require_review' });
    expect(() => PolicyAction.block('')).toThrow(/action "block" needs a non-empty reason/);
  });
});

describe('policies from JSON', () => {
  const json = {
    defaultAction: { type: 'block', reason: 'not allowed' },
    rules: [
      {
        id: 'allow-clean',
        action: { type: 'allow' },
        conditions: [{ type: 'outcome_is', outcome: 'clean' }],
      },
      {
        id: 'review-big-pdfs',
        name: 'Big PDFs',
        priority: 5,
        action: { type: 'require_review', reason: 'big pdf' },
        conditions: [
          {
            type: 'and',
            conditions: [
              { type: 'file_type_in', types: ['pdf'] },
              { type: 'file_size_exceeds', bytes: 10 },
            ],
          },
        ],
      },
    ],
  };

  it('loads, evaluates, and round-trips through toJSON', () => {
    const engine = PolicyEngine.fromJSON(JSON.stringify(json));
    expect(engine.evaluate(report({ filename: 'a.pdf', size: 100 })).matchedRuleId).toBe(
      'review-big-pdfs',
    );
    expect(engine.evaluate(report({ filename: 'a.txt' })).matchedRuleId).toBe('allow-clean');
    expect(engine.evaluate(malware).action).toEqual({ type: 'block', reason: 'not allowed' });
    const again = PolicyEngine.fromJSON(JSON.parse(JSON.stringify(engine)));
    expect(again.toJSON()).toEqual(engine.toJSON());
  });

  it('names the bad rule and field', () => {
    const bad = (rules: unknown[]) => () => PolicyEngine.fromJSON({ rules });
    expect(
      bad([
        json.rules[0],
        { id: 'x', action: { type: 'allow' }, conditions: [{ type: 'is_friday' }] },
      ]),
    ).toThrow('Invalid policy at rules[1] ("x").conditions[0].type: unknown condition "is_friday"');
    expect(bad([{ id: 'y', action: { type: 'explode' } }])).toThrow(
      /rules\[0\] \("y"\)\.action\.type: unknown action "explode"/,
    );
    expect(
      bad([
        {
          id: 'z',
          action: { type: 'allow' },
          conditions: [{ type: 'outcome_is', outcome: 'clean', extra: 1 }],
        },
      ]),
    ).toThrow(
      /rules\[0\] \("z"\)\.conditions\[0\]\.extra: condition "outcome_is" has no field "extra"; it takes outcome/,
    );
    expect(bad([{ action: { type: 'allow' } }])).toThrow(
      /rules\[0\]\.id: every rule needs a non-empty string id/,
    );
    expect(bad([{ id: 'p', action: { type: 'allow' }, priority: 'high' }])).toThrow(
      /rule "p".priority: expected an integer, got "high"/,
    );
    expect(bad([{ id: 'q', action: { type: 'allow' }, when: [] }])).toThrow(
      /rules\[0\] \("q"\)\.when: unknown field/,
    );
    expect(() => PolicyEngine.fromJSON('{ rules: [')).toThrow(
      /Invalid policy at policy: not valid JSON/,
    );
    expect(() => PolicyEngine.fromJSON({ rule: [] })).toThrow(/policy.rule: unknown field/);
    const error = (() => {
      try {
        PolicyEngine.fromJSON({
          rules: [{ id: 'x', action: { type: 'allow' }, conditions: [{ type: 'nope' }] }],
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(PolicyError);
    expect(error).toMatchObject({ path: 'rules[0] ("x").conditions[0].type' });
  });
});

describe('presets', () => {
  const outcomes = {
    clean: report(),
    infected: malware,
    suspicious: report({ outcome: { type: 'suspicious', reason: 'macro', confidence: 0.7 } }),
    error: report({ outcome: { type: 'error', recoverable: true } }),
    failOpen: report({ results: [{ source: 'failopen', engine: 'clamav-failopen' }] }),
  };

  it('defaultPolicy: infected blocks, suspicious quarantines, errors and fail-open need review, clean allows', () => {
    const policy = defaultPolicy();
    const decide = (r: keyof typeof outcomes) => policy.evaluate(outcomes[r]).action.type;
    expect(decide('infected')).toBe('block');
    expect(decide('suspicious')).toBe('quarantine');
    expect(decide('error')).toBe('require_review');
    expect(decide('failOpen')).toBe('require_review');
    expect(decide('clean')).toBe('allow');
    expect(policy.defaultAction.type).toBe('require_review');
  });

  it('strictPolicy: quarantines threats, blocks errors and fail-open, reviews clean executables', () => {
    const policy = strictPolicy();
    const decide = (r: keyof typeof outcomes) => policy.evaluate(outcomes[r]).action.type;
    expect(decide('infected')).toBe('quarantine');
    expect(decide('suspicious')).toBe('quarantine');
    expect(decide('error')).toBe('block');
    expect(decide('failOpen')).toBe('block');
    expect(decide('clean')).toBe('allow');
    expect(policy.evaluate(report({ filename: 'setup.exe' })).action.type).toBe('require_review');
    expect(
      policy.evaluate(report({ filename: 'x.bin', mimeType: 'application/x-executable' })).action
        .type,
    ).toBe('require_review');
  });
});
