import type { ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll } from 'vitest';
import { type EmbeddedSpiceDb, startEmbeddedSpiceDb } from '../src/embedded/index.js';

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

/**
 * One embedded SpiceDB server for the test file, with {@link SCHEMA} and {@link RELATIONSHIPS}:
 * started before the file's tests, closed after them. Call at the top of a file (or describe);
 * the getter gives the running server inside tests.
 */
export function useSpiceDb(): () => EmbeddedSpiceDb {
  let server: EmbeddedSpiceDb | undefined;
  beforeAll(async () => {
    server = await startEmbeddedSpiceDb({ schema: SCHEMA, relationships: RELATIONSHIPS });
  });
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
