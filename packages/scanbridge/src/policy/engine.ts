import { describeValue } from '@breakwater/core/validate';
import type { ScanReport } from '../report.js';
import type { ScanContext } from '../result.js';
import { PolicyAction, parseAction } from './action.js';
import { conditionHolds } from './condition.js';
import { PolicyError } from './errors.js';
import { PolicyRule, type PolicyRuleJSON } from './rule.js';

export interface PolicyDecision {
  readonly action: PolicyAction;
  /** The rule that decided; absent when the default action applied. */
  readonly matchedRuleId?: string;
  /** Why, in words for a log or a reviewer. */
  readonly reason: string;
}

export interface PolicyEngineOptions {
  /** What happens when no rule matches. Default `PolicyAction.requireReview()`: never allow by accident. */
  defaultAction?: PolicyAction | undefined;
}

export interface PolicyJSON {
  readonly defaultAction?: PolicyAction;
  readonly rules: readonly PolicyRuleJSON[];
}

/** Rules in priority order; the first whose conditions all hold decides. */
export class PolicyEngine {
  readonly defaultAction: PolicyAction;
  private readonly rules: PolicyRule[] = [];

  constructor(options: PolicyEngineOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`PolicyEngine: options must be an object, got ${describeValue(options)}`);
    }
    const { defaultAction, ...extra } = options;
    const unknown = Object.keys(extra);
    if (unknown.length > 0)
      throw new TypeError(
        `PolicyEngine: unknown option "${unknown[0]}"; the only option is defaultAction`,
      );
    this.defaultAction =
      defaultAction === undefined
        ? PolicyAction.requireReview()
        : parseAction(defaultAction, 'PolicyEngine.defaultAction');
  }

  addRule(rule: PolicyRule): this {
    if (!(rule instanceof PolicyRule)) {
      throw new TypeError(
        `PolicyEngine.addRule: expected a PolicyRule, got ${describeValue(rule)}`,
      );
    }
    if (this.rules.some((r) => r.id === rule.id)) {
      throw new PolicyError(
        `rule "${rule.id}"`,
        'a rule with this id was already added; ids must be unique',
      );
    }
    this.rules.push(rule);
    return this;
  }

  /** The rules in the order they are tried. */
  orderedRules(): readonly PolicyRule[] {
    // Array.prototype.sort is stable: equal priorities keep insertion order.
    return [...this.rules].sort((a, b) => b.priority - a.priority);
  }

  evaluate(report: ScanReport, context: ScanContext = report.context): PolicyDecision {
    for (const rule of this.orderedRules()) {
      if (!rule.enabled) continue;
      if (rule.conditions.every((condition) => conditionHolds(condition, report, context))) {
        const label =
          rule.name === undefined ? `rule "${rule.id}"` : `rule "${rule.id}" (${rule.name})`;
        const why = rule.action.reason ?? rule.action.message;
        return {
          action: rule.action,
          matchedRuleId: rule.id,
          reason: why === undefined ? `${label} matched` : `${label} matched: ${why}`,
        };
      }
    }
    return { action: this.defaultAction, reason: 'no rule matched; the default action applies' };
  }

  toJSON(): PolicyJSON {
    return { defaultAction: this.defaultAction, rules: this.rules.map((rule) => rule.toJSON()) };
  }

  /** A policy from JSON text or a parsed object: `{ "defaultAction": {...}, "rules": [...] }`. */
  static fromJSON(json: unknown): PolicyEngine {
    let value = json;
    if (typeof json === 'string') {
      try {
        value = JSON.parse(json);
      } catch (error) {
        throw new PolicyError('policy', `not valid JSON: ${(error as Error).message}`);
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new PolicyError(
        'policy',
        `expected an object with "rules", got ${describeValue(value)}`,
      );
    }
    const { defaultAction, rules, ...extra } = value as Record<string, unknown>;
    const unknown = Object.keys(extra);
    if (unknown.length > 0)
      throw new PolicyError(
        `policy.${unknown[0]}`,
        'unknown field; a policy has defaultAction and rules',
      );
    if (!Array.isArray(rules)) {
      throw new PolicyError(
        'policy.rules',
        `expected an array of rules, got ${describeValue(rules)}`,
      );
    }
    const engine = new PolicyEngine(
      defaultAction === undefined
        ? {}
        : { defaultAction: parseAction(defaultAction, 'policy.defaultAction') },
    );
    for (const [i, rule] of rules.entries())
      engine.addRule(PolicyRule.fromJSON(rule, `rules[${i}]`));
    return engine;
  }
}
