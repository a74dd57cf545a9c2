import { describeValue } from '@breakwater/core/validate';
import { type PolicyAction, parseAction } from './action.js';
import { type Condition, parseCondition } from './condition.js';
import { PolicyError } from './errors.js';

/** A rule as JSON holds it. */
export interface PolicyRuleJSON {
  readonly id: string;
  readonly name?: string;
  readonly action: PolicyAction;
  readonly conditions?: readonly Condition[];
  readonly priority?: number;
  readonly enabled?: boolean;
}

/**
 * When every condition holds (a rule without conditions always matches), the action applies.
 * Builder methods change the rule and return it, for chaining.
 */
export class PolicyRule {
  readonly id: string;
  readonly action: PolicyAction;
  #name: string | undefined;
  #conditions: readonly Condition[] = Object.freeze([]);
  #priority = 0;
  #enabled = true;

  constructor(id: string, action: PolicyAction) {
    if (typeof id !== 'string' || id.length === 0) {
      throw new PolicyError(
        'PolicyRule',
        `id must be a non-empty string, got ${describeValue(id)}`,
      );
    }
    this.id = id;
    this.action = parseAction(action, `rule "${id}".action`);
  }

  // Read-only outside the builder methods, which validate what they are given.
  get name(): string | undefined {
    return this.#name;
  }

  /** Higher runs first; equal priorities keep the order rules were added. Default 0. */
  get priority(): number {
    return this.#priority;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get conditions(): readonly Condition[] {
    return this.#conditions;
  }

  withName(name: string): this {
    if (typeof name !== 'string' || name.length === 0) {
      throw new PolicyError(
        `rule "${this.id}".name`,
        `expected a non-empty string, got ${describeValue(name)}`,
      );
    }
    this.#name = name;
    return this;
  }

  /** Adds a condition; all of a rule's conditions must hold. */
  withCondition(condition: Condition): this {
    const at = `rule "${this.id}".conditions[${this.#conditions.length}]`;
    this.#conditions = Object.freeze([...this.#conditions, parseCondition(condition, at)]);
    return this;
  }

  withPriority(priority: number): this {
    if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) {
      throw new PolicyError(
        `rule "${this.id}".priority`,
        `expected an integer, got ${describeValue(priority)}`,
      );
    }
    this.#priority = priority;
    return this;
  }

  withEnabled(enabled: boolean): this {
    if (typeof enabled !== 'boolean') {
      throw new PolicyError(
        `rule "${this.id}".enabled`,
        `expected true or false, got ${describeValue(enabled)}`,
      );
    }
    this.#enabled = enabled;
    return this;
  }

  toJSON(): PolicyRuleJSON {
    return {
      id: this.id,
      ...(this.name === undefined ? {} : { name: this.name }),
      action: this.action,
      conditions: this.conditions,
      priority: this.priority,
      enabled: this.enabled,
    };
  }

  /** A rule from JSON; errors name the rule (`rules[2] ("block-exe")`) and the bad field. */
  static fromJSON(value: unknown, path = 'rule'): PolicyRule {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new PolicyError(path, `a rule must be an object, got ${describeValue(value)}`);
    }
    const { id, name, action, conditions, priority, enabled, ...extra } = value as Record<
      string,
      unknown
    >;
    if (typeof id !== 'string' || id.length === 0) {
      throw new PolicyError(
        `${path}.id`,
        `every rule needs a non-empty string id, got ${describeValue(id)}`,
      );
    }
    const at = `${path} ("${id}")`;
    const unknown = Object.keys(extra);
    if (unknown.length > 0) {
      throw new PolicyError(
        `${at}.${unknown[0]}`,
        'unknown field; a rule has id, name, action, conditions, priority, enabled',
      );
    }
    const rule = new PolicyRule(id, parseAction(action, `${at}.action`));
    if (name !== undefined) rule.withName(name as string);
    if (conditions !== undefined) {
      if (!Array.isArray(conditions)) {
        throw new PolicyError(
          `${at}.conditions`,
          `expected an array of conditions, got ${describeValue(conditions)}`,
        );
      }
      rule.#conditions = Object.freeze(
        conditions.map((condition, i) => parseCondition(condition, `${at}.conditions[${i}]`)),
      );
    }
    if (priority !== undefined) rule.withPriority(priority as number);
    if (enabled !== undefined) rule.withEnabled(enabled as boolean);
    return rule;
  }
}
