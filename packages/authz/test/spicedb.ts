import { v1 } from '@authzed/authzed-node';
import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll } from 'vitest';
import { type EmbeddedSpiceDb, startEmbeddedSpiceDb } from '../src/embedded/index.js';
import { parseRelationship } from '../src/embedded/relationship.js';
import { VISIBLE_WITHIN_MS, visibilityProbe } from '../src/embedded/visible.js';

/**
 * The schema every authz integration test shares: users; a tenant with members and admins; documents
 * with an owner and readers; `health:status`, readable by everyone.
 */
export const SCHEMA = `definition user {}

definition tenant {
  relation member: user
  relation admin: user
  permission manage = admin
  permission view = member + admin
}

definition document {
  relation tenant: tenant
  relation owner: user
  relation reader: user
  permission read = reader + owner
  permission write = owner
}

definition health {
  relation reader: user:*
  permission read = reader
}
`;

/**
 * acme's admin is alice and its members bob and carol; alice owns `document:plan`, which bob may
 * read; carol owns `document:notes`; nobody but its owner may read either; dave belongs to nothing.
 */
export const RELATIONSHIPS: readonly string[] = [
  'tenant:acme#admin@user:alice',
  'tenant:acme#member@user:bob',
  'tenant:acme#member@user:carol',
  'document:plan#tenant@tenant:acme',
  'document:plan#owner@user:alice',
  'document:plan#reader@user:bob',
  'document:notes#tenant@tenant:acme',
  'document:notes#owner@user:carol',
  'health:status#reader@user:*',
];

const START_WITHIN_MS = 30_000;
// A check is one loopback round trip: cheap enough to ask often and go on as soon as it is seen.
const POLL_MS = 20;
const MINIMIZE_LATENCY: v1.Consistency = {
  requirement: { oneofKind: 'minimizeLatency', minimizeLatency: true },
};

/**
 * Waits until a minimize_latency check straight to SpiceDB (no cache, no breaker) sees
 * `relationship`, in zed's syntax, as present (`expected` true) or gone (false); throws when it
 * still does not after `withinMs`. SpiceDB answers minimize_latency reads at a revision rounded
 * down to 5 s, so a write or delete may stay unseen for up to that long; once it is seen, every
 * later read sees it too, and a test may go on to assert what depends on it.
 */
export async function untilSeen(
  client: Pick<v1.ZedClientInterface, 'promises'>,
  relationship: string,
  expected: boolean,
  withinMs = VISIBLE_WITHIN_MS,
): Promise<void> {
  const probe = {
    ...visibilityProbe(parseRelationship('untilSeen', 'relationship', relationship)),
    consistency: MINIMIZE_LATENCY,
  };
  const giveUp = performance.now() + withinMs;
  for (;;) {
    const { permissionship } = await client.promises.checkPermission(probe);
    const seen = permissionship !== v1.CheckPermissionResponse_Permissionship.NO_PERMISSION;
    if (seen === expected) return;
    if (performance.now() >= giveUp) {
      throw new Error(
        `untilSeen: after ${withinMs} ms a minimize_latency check still finds ${relationship} ${seen ? 'present' : 'absent'}; expected it ${expected ? 'present' : 'absent'}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * One embedded SpiceDB server for the test file, with {@link SCHEMA} and {@link RELATIONSHIPS}:
 * started before the file's tests, closed after them. Call at the top of a file (or describe);
 * the getter gives the running server inside tests.
 */
export function useSpiceDb(): () => EmbeddedSpiceDb {
  let server: EmbeddedSpiceDb | undefined;
  // A start waits until minimize_latency reads see the relationships (up to one 5 s quantization
  // period), and a loaded machine makes every step slower: well past vitest's 10 s default.
  beforeAll(async () => {
    server = await startEmbeddedSpiceDb({ schema: SCHEMA, relationships: RELATIONSHIPS });
  }, START_WITHIN_MS);
  afterAll(async () => {
    await server?.close();
  });
  return () => {
    if (server === undefined)
      throw new Error('useSpiceDb: the server is not started (use it inside a test)');
    return server;
  };
}

/** The gRPC error a call fails with; throws when the call succeeds instead. */
export async function grpcError(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail, and it succeeded');
}
