import { randomBytes } from 'node:crypto';
import { secretFrom } from '../config/secret.js';
import type { Secret } from '../config/types.js';

/** The tenant everything in the demo happens in. */
export const DEMO_TENANT = 'demo';

/** A relation on `tenant:demo` in the shipped schema, or none at all. */
export type DemoRole = 'member' | 'reviewer' | 'admin' | 'none';

/** A person of the demo with the API token the gateway knows them by. */
export interface DemoUser {
  readonly name: string;
  readonly role: DemoRole;
  /** What their role lets them do, for the terminal. */
  readonly can: string;
  /** Random for each run; printed once for copy-paste, never in logs or inspect. */
  readonly token: Secret;
  /**
   * When the traffic generator uploads as them: from the start, from the first fault (someone
   * SpiceDB has never answered for, so no cached decision can let her in while it is down), or
   * never.
   */
  readonly uploads: 'from-start' | 'from-first-fault' | 'never';
}

const PEOPLE: readonly Omit<DemoUser, 'token'>[] = [
  { name: 'alice', role: 'member', can: 'uploads', uploads: 'from-start' },
  { name: 'rita', role: 'reviewer', can: 'uploads, reads the quarantine', uploads: 'from-start' },
  { name: 'mallory', role: 'none', can: 'nothing: her uploads get 403', uploads: 'from-start' },
  {
    name: 'nina',
    role: 'member',
    can: 'uploads, first at the first fault: never seen, denied while SpiceDB is down',
    uploads: 'from-first-fault',
  },
  { name: 'adam', role: 'admin', can: 'everything, releases quarantined files', uploads: 'never' },
];

/** A fresh random token: 32 bytes, base64url, so it goes in a header unchanged. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** alice (member), rita (reviewer), mallory (no role), nina (member) and adam (admin), each with a new token. */
export function demoUsers(): DemoUser[] {
  return PEOPLE.map((person) => ({
    ...person,
    token: secretFrom(`the demo's token for ${person.name}`, randomToken()),
  }));
}

/** What SpiceDB is loaded with: each user's role on the demo tenant, in zed's syntax. */
export function demoRelationships(users: readonly DemoUser[]): string[] {
  return users
    .filter((user) => user.role !== 'none')
    .map((user) => `tenant:${DEMO_TENANT}#${user.role}@user:${user.name}`);
}
