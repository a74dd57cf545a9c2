/** One thing wrong with the configuration; `path` names it in JS notation (`engines[1].rules`), '' for the whole. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * The configuration cannot be used: every problem found, not just the first, so one run of the
 * gateway tells a person everything to fix. The message lists them one per line, each led by
 * where the configuration came from (the file's path).
 */
export class ConfigError extends Error {
  readonly code = 'BREAKWATER_GATEWAY_CONFIG';
  readonly issues: readonly ConfigIssue[];
  /** The file's path, or `configuration` for one given as a value. */
  readonly source: string;

  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(issues.map((issue) => `${source}: ${formatIssue(issue)}`).join('\n'));
    this.source = source;
    this.issues = issues;
  }
}
ConfigError.prototype.name = 'ConfigError';

/** `engines[1].rules: file not found: /abs/x.yar`, or only the message for the whole file. */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}
