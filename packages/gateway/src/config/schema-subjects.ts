import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './package-root.js';

const DEFINITION = /^\s*definition\s+([a-z][a-z0-9_]*)\s*\{/;
const RELATION = /^\s*relation\s+[a-z][a-z0-9_]*\s*:\s*(.+)$/;
// The gateway checks its permissions on `tenant:<id>` only: the subjects that can hold one.
const RESOURCE = 'tenant';

let cached: readonly string[] | undefined;

/**
 * The subject types the shipped schema's `tenant` relations take (`user`): a token standing for
 * any other type could never be granted scan, review or manage, and SpiceDB would refuse to
 * check it. Read from schema/schema.zed once, so the schema stays the one place that says it.
 */
export function tenantSubjectTypes(): readonly string[] {
  cached ??= subjectTypesOf(
    readFileSync(join(packageRoot().dir, 'schema', 'schema.zed'), 'utf8'),
    RESOURCE,
  );
  return cached;
}

/** The types `relation r: a | b#member | c:*` of `definition` names: a, b, c. */
export function subjectTypesOf(schema: string, definition: string): readonly string[] {
  const types = new Set<string>();
  let current: string | undefined;
  for (const line of schema.split('\n')) {
    const opened = DEFINITION.exec(line);
    if (opened !== null) current = opened[1];
    const relation = RELATION.exec(line);
    if (relation?.[1] === undefined || current !== definition) continue;
    for (const part of relation[1].replace(/\/\/.*$/, '').split('|')) {
      const type = /^\s*([a-z][a-z0-9_]*)/.exec(part)?.[1];
      if (type !== undefined) types.add(type);
    }
  }
  return [...types];
}
