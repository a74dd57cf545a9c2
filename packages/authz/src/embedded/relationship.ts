/**
 * A relationship as the engine's `v1.Relationship.create` takes it; plain data, so it crosses to
 * the server process as JSON.
 */
export interface RelationshipData {
  readonly resource: { readonly objectType: string; readonly objectId: string };
  readonly relation: string;
  readonly subject: {
    readonly object: { readonly objectType: string; readonly objectId: string };
    readonly optionalRelation: string;
  };
}

// SpiceDB's own rules for object types, ids and relations (authzed/api v1 validation).
const TYPE = '((?:[a-z][a-z0-9_]{1,61}[a-z0-9]/)*[a-z][a-z0-9_]{1,62}[a-z0-9])';
const ID = '([a-zA-Z0-9/_|\\-=+]{1,1024})';
const RELATION = '([a-z][a-z0-9_]{1,62}[a-z0-9])';
const TUPLE = new RegExp(`^${TYPE}:${ID}#${RELATION}@${TYPE}:(?:${ID}(?:#${RELATION})?|(\\*))$`);

/**
 * Reads one relationship in zed's tuple syntax: `document:readme#reader@user:alice`,
 * `document:x#reader@group:eng#member`, `health:status#reader@user:*`. Caveats and expirations
 * (`[...]`) are not taken. `where` names the value in the error, e.g. `relationships[2]`.
 */
export function parseRelationship(owner: string, where: string, text: unknown): RelationshipData {
  const match = typeof text === 'string' ? TUPLE.exec(text) : null;
  if (match === null) {
    const shown = typeof text === 'string' ? JSON.stringify(text) : `a ${typeof text}`;
    throw new TypeError(
      `${owner}: ${where} ${shown} is not a relationship in zed's syntax: expected ` +
        'resource_type:resource_id#relation@subject_type:subject_id[#subject_relation], ' +
        'e.g. document:readme#reader@user:alice or health:status#reader@user:*',
    );
  }
  const [, resourceType, resourceId, relation, subjectType, subjectId, subjectRelation, wildcard] =
    match as unknown as [string, string, string, string, string, string?, string?, string?];
  return {
    resource: { objectType: resourceType, objectId: resourceId },
    relation,
    subject: {
      object: { objectType: subjectType, objectId: wildcard ?? subjectId ?? '' },
      optionalRelation: subjectRelation ?? '',
    },
  };
}
