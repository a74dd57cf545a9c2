import { defaultPolicy, PolicyEngine, strictPolicy } from '@breakwater/scanbridge';
import type { GatewayConfig } from '../config/types.js';

/** `default`, `strict`, or a policy in scanbridge's JSON form (already validated with the configuration). */
export function policyOf(policy: GatewayConfig['policy']): PolicyEngine {
  if (policy === 'default') return defaultPolicy();
  if (policy === 'strict') return strictPolicy();
  return PolicyEngine.fromJSON(policy);
}
