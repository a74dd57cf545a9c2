import type { StateName } from './state.js';
import { describeValue } from './validate.js';

const FORMAT = 'breakwater.breaker';
const VERSION = 1;
const STATES: readonly StateName[] = ['closed', 'open', 'half_open', 'disabled'];
const KEYS: ReadonlySet<string> = new Set([
  'format',
  'version',
  'name',
  'state',
  'failureCount',
  'successCount',
  'attempt',
  'openedAt',
  'until',
  'savedAt',
]);

/**
 * A breaker's state as plain JSON (`breaker.toJSON()`), for a short-lived process to save
 * and the next one to restore with `initialState`. Metrics and rate windows are not part of
 * it: they describe traffic, and the next process sees its own.
 */
export interface BreakerSnapshot {
  readonly format: typeof FORMAT;
  readonly version: typeof VERSION;
  readonly name: string;
  readonly state: StateName;
  /** Consecutive counted failures (closed). */
  readonly failureCount: number;
  /** Successful probes so far (half-open). */
  readonly successCount: number;
  /** Openings since the breaker last closed: the backoff's `attempt`. */
  readonly attempt: number;
  /** Epoch ms (open). */
  readonly openedAt: number | null;
  /** Epoch ms when the open period ends; null while forced open, or when not open. */
  readonly until: number | null;
  readonly savedAt: number;
}

export function snapshotHeader(name: string): Pick<BreakerSnapshot, 'format' | 'version' | 'name'> {
  return { format: FORMAT, version: VERSION, name };
}

/**
 * Checks a snapshot (an object, or its JSON text; null is none) before anything of it is
 * used: a corrupt, foreign or other breaker's snapshot is refused whole, with the reason.
 */
export function parseSnapshot(
  owner: string,
  name: string,
  value: unknown,
): BreakerSnapshot | undefined {
  // What a store gives back for a key it does not have: no snapshot yet.
  if (value === null) return undefined;
  let snapshot = value;
  if (typeof value === 'string') {
    try {
      snapshot = JSON.parse(value);
    } catch (error) {
      throw new TypeError(
        `${owner}: option "initialState" is not valid JSON: ${(error as Error).message}`,
      );
    }
  }
  const fail = (problem: string): never => {
    throw new TypeError(`${owner}: option "initialState" ${problem}`);
  };
  if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) {
    return fail(`must be a snapshot from breaker.toJSON(), got ${describeValue(snapshot)}`);
  }
  const s = snapshot as Record<string, unknown>;
  if (s.format !== FORMAT)
    return fail(`is not a breakwater breaker snapshot (format ${describeValue(s.format)})`);
  if (s.version !== VERSION)
    return fail(`has version ${describeValue(s.version)}; this breaker reads version ${VERSION}`);
  for (const key of Object.keys(s)) if (!KEYS.has(key)) fail(`has an unknown field "${key}"`);
  if (s.name !== name) return fail(`belongs to breaker ${describeValue(s.name)}, not "${name}"`);
  if (!STATES.includes(s.state as StateName))
    return fail(`has an unknown state ${describeValue(s.state)}`);
  for (const key of ['failureCount', 'successCount', 'attempt'] as const) {
    if (!Number.isSafeInteger(s[key]) || (s[key] as number) < 0) {
      fail(`field "${key}" must be an integer >= 0, got ${describeValue(s[key])}`);
    }
  }
  // Times may be fractional: a backoff factor of 1.5 or a fractional Retry-After gives such an end.
  if (!isTime(s.savedAt))
    fail(`field "savedAt" must be an epoch ms, got ${describeValue(s.savedAt)}`);
  const open = s.state === 'open';
  if (open ? !isTime(s.openedAt) : s.openedAt !== null) {
    fail(
      `field "openedAt" must be ${open ? 'an epoch ms' : 'null when not open'}, got ${describeValue(s.openedAt)}`,
    );
  }
  if (
    s.until !== null &&
    !(open && isTime(s.until) && (s.until as number) >= (s.openedAt as number))
  ) {
    fail(
      `field "until" must be null or an epoch ms no earlier than openedAt while open, got ${describeValue(s.until)}`,
    );
  }
  // Each count belongs to one state; elsewhere the breaker keeps it at 0.
  if (s.state !== 'closed' && s.failureCount !== 0)
    fail(`has failureCount ${s.failureCount} while ${s.state}`);
  if (s.state !== 'half_open' && s.successCount !== 0)
    fail(`has successCount ${s.successCount} while ${s.state}`);
  const failedOpen = (open && s.until !== null) || s.state === 'half_open';
  if (failedOpen ? (s.attempt as number) < 1 : open ? false : s.attempt !== 0) {
    fail(
      `has attempt ${s.attempt} while ${s.state}${failedOpen ? ' (it opened, so at least 1)' : ''}`,
    );
  }
  return s as unknown as BreakerSnapshot;
}

function isTime(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
