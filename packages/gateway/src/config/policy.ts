import { describeValue } from '@breakwater/core/validate';
import { PolicyEngine, type PolicyJSON } from '@breakwater/scanbridge';
import type { Section } from './section.js';

/** `default`, `strict`, or a policy object checked by scanbridge's own PolicyEngine. */
export function readPolicy(root: Section): 'default' | 'strict' | PolicyJSON {
  const value = root.raw('policy');
  if (value === undefined) return 'default';
  if (value === 'default' || value === 'strict') return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    root.fail(
      'policy',
      `must be "default", "strict" or a policy object { "defaultAction": ..., "rules": [...] }, got ${describeValue(value)}`,
    );
    return 'default';
  }
  try {
    PolicyEngine.fromJSON(value);
  } catch (error) {
    root.fail('policy', (error as Error).message);
  }
  return value as PolicyJSON;
}
