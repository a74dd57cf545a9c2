import type { AuthorizationStats } from '@breakwater/authz';
import type { BreakerRegistry } from '@breakwater/core';
import type { BreakerCounts } from './breaker-counts.js';
import type { UploadCounts, UploadTally } from './tally.js';
import type { ReactionTimeline, ReactionTimes } from './timeline.js';

/** One breaker's line of the summary. */
export interface BreakerSummary extends ReactionTimes {
  readonly name: string;
  /** Calls it saw over the whole run: finished and rejected (as core's `totalRequests`). */
  readonly calls: number;
  readonly rejections: number;
  readonly openings: number;
}

/** One user's line of the summary. */
export interface UserSummary extends UploadCounts {
  readonly name: string;
  readonly role: string;
}

/** Who decided the permission checks: SpiceDB, the fresh cache, or the fallback while it was down. */
export interface AuthorizationSummary {
  readonly spicedb: number;
  readonly cache: number;
  readonly fallbackAllowed: number;
  readonly fallbackDenied: number;
}

export interface DemoSummary {
  readonly elapsedMs: number;
  readonly breakers: readonly BreakerSummary[];
  readonly authorization: AuthorizationSummary;
  readonly users: readonly UserSummary[];
}

/** Reaction times as the table shows them: `512`, `512, 498`, or `-` when none was measured. */
function times(ms: readonly number[]): string {
  return ms.length === 0 ? '-' : ms.map((value) => String(Math.round(value))).join(', ');
}

/** Columns padded to their widest cell: the first `left` (names) to the left, numbers to the right. */
function table(rows: readonly (readonly string[])[], left: number): string[] {
  const widths = (rows[0] ?? []).map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? '').length)),
  );
  return rows.map((row) =>
    row
      .map((cell, column) =>
        column < left ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd(),
  );
}

/** The table `--duration` and Ctrl-C end with: per breaker, then per user. */
export function formatSummary(summary: DemoSummary): string {
  const breakers = table(
    [
      ['breaker', 'calls', 'rejections', 'openings', 'fault->open ms', 'recovery->close ms'],
      ...summary.breakers.map((breaker) => [
        breaker.name,
        String(breaker.calls),
        String(breaker.rejections),
        String(breaker.openings),
        times(breaker.toOpenMs),
        times(breaker.toCloseMs),
      ]),
    ],
    1,
  );
  const users = table(
    [
      ['user', 'role', 'allowed', 'blocked', 'denied', 'failed'],
      ...summary.users.map((user) => [
        user.name,
        user.role,
        String(user.allowed),
        String(user.blocked),
        String(user.denied),
        String(user.failed),
      ]),
    ],
    2,
  );
  const { spicedb, cache, fallbackAllowed, fallbackDenied } = summary.authorization;
  return [
    `Summary after ${(summary.elapsedMs / 1_000).toFixed(1)} s`,
    '',
    ...breakers,
    '',
    `permission checks: ${spicedb} answered by SpiceDB, ${cache} by the cache while it answered; while it could not, the fallback allowed ${fallbackAllowed} from cached decisions and denied ${fallbackDenied}`,
    '',
    ...users,
    '',
    'blocked: the policy blocked, quarantined or held the file for review; denied: 403 from authorization; failed: no verdict (an error status or no answer)',
    '',
  ].join('\n');
}

/**
 * The summary's numbers: each of the gateway's breakers as `counts` saw it over the whole run
 * (not its metrics, which a reset from the dashboard zeroes), the permission checks by source,
 * the tally and the timeline.
 */
export function collectSummary(input: {
  readonly registry: BreakerRegistry;
  readonly counts: BreakerCounts;
  readonly authorization: Pick<AuthorizationStats, 'checks'>;
  readonly users: readonly { readonly name: string; readonly role: string }[];
  readonly tally: UploadTally;
  readonly timeline: ReactionTimeline;
  readonly elapsedMs: number;
}): DemoSummary {
  const breakers: BreakerSummary[] = [];
  input.registry.forEach((_, name) => {
    breakers.push({ name, ...input.counts.of(name), ...input.timeline.times(name) });
  });
  const roles = new Map(input.users.map((user) => [user.name, user.role]));
  const { checks } = input.authorization;
  return {
    elapsedMs: input.elapsedMs,
    breakers,
    authorization: {
      spicedb: checks.spicedb.allowed + checks.spicedb.denied,
      cache: checks.cache.allowed + checks.cache.denied,
      fallbackAllowed: checks.fallback.allowed,
      fallbackDenied: checks.fallback.denied,
    },
    users: input.tally.users().map((name) => ({
      name,
      role: roles.get(name) ?? '-',
      ...input.tally.counts(name),
    })),
  };
}
