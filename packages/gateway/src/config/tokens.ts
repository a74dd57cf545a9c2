import { createHash } from 'node:crypto';
import { describeValue } from '@breakwater/core/validate';
import { tenantSubjectTypes } from './schema-subjects.js';
import { type Issues, isPlainObject, Section } from './section.js';
import type { TokenConfig } from './types.js';

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
// SpiceDB's rules for an object type and an object id (authzed.api.v1's validation patterns).
const TYPE = /^[a-z][a-z0-9_]{1,62}[a-z0-9]$/;
const ID = /^[a-zA-Z0-9/_|\-=+]{1,1024}$/;
const TYPE_RULE =
  '3 to 64 lowercase letters, digits and _, starting with a letter, not ending with _';
const ID_RULE = '1 to 1024 letters, digits and / _ | - = +';
const TOKEN_KEYS = ['sha256', 'subject', 'tenant'];

/** What the configuration stores for an API token: the sha256 of its text, as hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Why SpiceDB would refuse `subject` as `type:id`, or could never allow it anything on a tenant
 * (a type the shipped schema's tenant relations do not take), or undefined.
 */
export function subjectProblem(subject: string): string | undefined {
  const colon = subject.indexOf(':');
  if (colon < 0) return `must be a SpiceDB subject type:id, like "user:alice"`;
  const type = subject.slice(0, colon);
  const id = subject.slice(colon + 1);
  if (!TYPE.test(type))
    return `the type ${JSON.stringify(type)} is not one SpiceDB accepts: ${TYPE_RULE}`;
  if (!ID.test(id)) return `the id ${JSON.stringify(id)} is not one SpiceDB accepts: ${ID_RULE}`;
  const types = tenantSubjectTypes();
  if (!types.includes(type)) {
    return `the gateway's schema (schema/schema.zed) grants tenant permissions to subjects of type ${types.join(', ')} only, not ${JSON.stringify(type)}`;
  }
  return undefined;
}

/**
 * Why `tenant` cannot name a tenant, or undefined. SpiceDB's id rule, less `/`: the tenant is
 * also a path segment (`/v1/tenants/:tenant/scans`), where a `/` could never arrive.
 */
export function tenantProblem(tenant: string): string | undefined {
  if (ID.test(tenant) && !tenant.includes('/')) return undefined;
  return `must be a tenant id: 1 to 1024 letters, digits and _ | - = + (SpiceDB's id rule, without /, since it is a path segment), got ${JSON.stringify(tenant)}`;
}

export function readTokens(root: Section, issues: Issues): TokenConfig[] {
  const items = root.array('tokens') ?? [];
  const tokens: TokenConfig[] = [];
  const seen = new Map<string, string>();
  for (const { path, value } of items) {
    const entry = new Section(issues, path, value, TOKEN_KEYS);
    if (!isPlainObject(value)) continue;
    const sha256 = value.sha256;
    let digest: Buffer | undefined;
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
      // Not quoted: a token pasted where its hash belongs is a secret.
      entry.fail(
        entry.at('sha256'),
        typeof sha256 === 'string'
          ? 'must be 64 hex digits, the sha256 of the token (`breakwater-gateway hash-token` prints it); the value is not shown, in case it is the token itself'
          : `must be 64 hex digits, got ${describeValue(sha256)}`,
      );
    } else {
      const key = sha256.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) {
        entry.fail(
          entry.at('sha256'),
          `the same token as ${first}; each token must stand for one subject`,
        );
      }
      seen.set(key, path);
      digest = Buffer.from(key, 'hex');
    }
    const subject = value.subject;
    if (typeof subject !== 'string') {
      entry.fail(
        entry.at('subject'),
        `must be a SpiceDB subject type:id, like "user:alice", got ${describeValue(subject)}`,
      );
    } else {
      const problem = subjectProblem(subject);
      if (problem !== undefined) entry.fail(entry.at('subject'), problem);
    }
    const tenant = entry.string('tenant');
    if (tenant !== undefined) {
      const problem = tenantProblem(tenant);
      if (problem !== undefined) entry.fail(entry.at('tenant'), problem);
    }
    if (digest !== undefined && typeof subject === 'string') {
      tokens.push({ sha256: digest, subject, tenant });
    }
  }
  return tokens;
}
