import { parseArgs } from 'node:util';

/** Exit codes: everything allowed / something flagged / the run itself went wrong. */
export const EXIT = { allowed: 0, flagged: 1, error: 2 } as const;

/** A mistake in how scanbridge was called, or a setup that cannot work: exit 2. */
export class UsageError extends Error {}

export const HELP = `Usage:
  scanbridge scan <files or directories...> [options]
  scanbridge health [engine options] [--json]

Scans files with ClamAV (clamd) and/or VirusTotal, each engine behind its own circuit
breaker, and applies a policy to every verdict.

Engine options (without any, the first local clamd that answers is used:
$SCANBRIDGE_CLAMAV, or /var/run/clamav/clamd.ctl and the other standard places, then
127.0.0.1:3310):
  --clamav <host:port|socket>   clamd over TCP or a unix socket
  --virustotal-key-env <VAR>    use VirusTotal, with the API key read from $VAR
  --virustotal-url <url>        VirusTotal's API root (default https://www.virustotal.com/api/v3)
  --virustotal-upload           upload files VirusTotal does not know (they become visible to
                                its subscribers); without it they are reported unknown

Scan options:
  --policy <policy.json>        the policy (default: block threats, review anything unsure)
  --json                        one JSON document on stdout instead of the table
  --fail-open                   when an engine is down (timeouts, connection failures, 5xx, an
                                open breaker), give the policy a "fail-open" stand-in verdict
                                instead of failing the run; other errors (a rejected key, rate
                                limits, unreadable answers) still fail it
  --concurrency <n>             files scanned at once (default 4)

Exit status: 0 every file scanned and allowed; 1 any file blocked, quarantined, sent to
review, or not checked (a linked directory, a special file, every engine failed open);
2 usage or engine errors, or nothing scanned at all (an error outranks a block: the run is
incomplete).
`;

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'scan' | 'health'; readonly paths: string[]; readonly flags: Flags };

export interface Flags {
  readonly clamav?: string | undefined;
  readonly virustotalKeyEnv?: string | undefined;
  readonly virustotalUrl?: string | undefined;
  readonly virustotalUpload?: boolean | undefined;
  readonly policy?: string | undefined;
  readonly json?: boolean | undefined;
  readonly failOpen?: boolean | undefined;
  readonly concurrency: number;
}

const ENGINE_OPTIONS = {
  clamav: { type: 'string' },
  'virustotal-key-env': { type: 'string' },
  'virustotal-url': { type: 'string' },
  'virustotal-upload': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const SCAN_OPTIONS = {
  ...ENGINE_OPTIONS,
  policy: { type: 'string' },
  'fail-open': { type: 'boolean' },
  concurrency: { type: 'string' },
} as const;

/** The command line, checked; a UsageError names what is wrong. */
export function parseCommand(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    return { name: 'help' };
  }
  if (name !== 'scan' && name !== 'health') {
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}; the commands are scan and health`,
    );
  }
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof SCAN_OPTIONS; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({
      args: rest,
      options: name === 'scan' ? SCAN_OPTIONS : ENGINE_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (name === 'scan' && positionals.length === 0) {
    throw new UsageError('scan needs at least one file or directory');
  }
  if (name === 'health' && positionals.length > 0) {
    throw new UsageError(`health takes no files, got ${JSON.stringify(positionals[0])}`);
  }
  return {
    name,
    paths: positionals,
    flags: {
      clamav: values.clamav,
      virustotalKeyEnv: values['virustotal-key-env'],
      virustotalUrl: values['virustotal-url'],
      virustotalUpload: values['virustotal-upload'],
      policy: values.policy,
      json: values.json,
      failOpen: values['fail-open'],
      concurrency: concurrency(values.concurrency),
    },
  };
}

function concurrency(value: string | undefined): number {
  if (value === undefined) return 4;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) {
    throw new UsageError(
      `--concurrency must be a whole number from 1 to 64, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}
