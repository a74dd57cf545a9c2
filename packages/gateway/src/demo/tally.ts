/** How one uploaded file came out, as the demo counts it. */
export type UploadOutcome = 'allowed' | 'blocked' | 'denied' | 'failed';

export type UploadCounts = Record<UploadOutcome, number>;

const ALLOWED: ReadonlySet<string> = new Set(['allow', 'allow_with_warning']);
// Each keeps the file from its recipient: gone, set aside, or waiting for a person.
const BLOCKED: ReadonlySet<string> = new Set(['block', 'quarantine', 'require_review']);

/**
 * What an answer to `POST /v1/tenants/:tenant/scans` counts as, one outcome per file: a 200
 * carries each file's decision; a 403 is a denied upload; anything else (401, 413, 503, a
 * body that is not the gateway's) is a failed one.
 */
export function outcomesOf(status: number, body: unknown): UploadOutcome[] {
  if (status === 403) return ['denied'];
  if (status !== 200) return ['failed'];
  const files = (body as { files?: unknown } | null)?.files;
  if (!Array.isArray(files) || files.length === 0) return ['failed'];
  return files.map((file) => {
    const decision = (file as { decision?: unknown } | null)?.decision;
    if (typeof decision !== 'string') return 'failed';
    if (ALLOWED.has(decision)) return 'allowed';
    return BLOCKED.has(decision) ? 'blocked' : 'failed';
  });
}

/** Uploads per user and outcome, in the order users were first counted. */
export class UploadTally {
  readonly #counts = new Map<string, UploadCounts>();

  /** Starts `user` at zero, so a user who never got an answer still shows in the summary. */
  add(user: string): void {
    if (!this.#counts.has(user)) {
      this.#counts.set(user, { allowed: 0, blocked: 0, denied: 0, failed: 0 });
    }
  }

  record(user: string, outcomes: readonly UploadOutcome[]): void {
    this.add(user);
    const counts = this.#counts.get(user) as UploadCounts;
    for (const outcome of outcomes) counts[outcome]++;
  }

  counts(user: string): UploadCounts {
    return { ...(this.#counts.get(user) ?? { allowed: 0, blocked: 0, denied: 0, failed: 0 }) };
  }

  users(): string[] {
    return [...this.#counts.keys()];
  }
}
