import { parseArgs } from 'node:util';
import { byteSize, wholeNumber } from './flag-values.js';
import { HEALTH_HELP, HELP, SCAN_HELP } from './help.js';
import { UsageError } from './usage-error.js';

/** Exit codes: everything allowed / something flagged / the run itself went wrong. */
export const EXIT = { allowed: 0, flagged: 1, error: 2 } as const;

/** How long a health check (and looking for a local clamd) may take, unless --timeout says. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/** clamd 1.4's own StreamMaxLength (`clamconf`: 104857600). */
export const DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024;

export type Command =
  | { readonly name: 'help'; readonly text: string }
  | { readonly name: 'version' }
  /** No command at all: the usage, and exit 2, so a script that forgot its arguments fails. */
  | { readonly name: 'usage' }
  | {
      readonly name: 'scan' | 'health';
      /** As bytes: a name need not be valid UTF-8. */
      readonly paths: Buffer[];
      readonly flags: Flags;
    };

export interface Flags {
  readonly clamav?: string | undefined;
  readonly virustotalKeyEnv?: string | undefined;
  readonly virustotalUrl?: string | undefined;
  readonly virustotalUpload?: boolean | undefined;
  /** A path, as bytes. */
  readonly policy?: Buffer | undefined;
  readonly json?: boolean | undefined;
  readonly failOpen?: boolean | undefined;
  readonly concurrency: number;
  /** Milliseconds for a health check. */
  readonly timeout: number;
  /** Bytes. */
  readonly maxFileSize: number;
}

const ENGINE_OPTIONS = {
  clamav: { type: 'string' },
  'virustotal-key-env': { type: 'string' },
  'virustotal-url': { type: 'string' },
  'virustotal-upload': { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const SCAN_OPTIONS = {
  ...ENGINE_OPTIONS,
  policy: { type: 'string' },
  'fail-open': { type: 'boolean' },
  concurrency: { type: 'string' },
  'max-file-size': { type: 'string' },
} as const;

/**
 * The command line, checked; a UsageError names what is wrong. `bytes` are the same
 * arguments as the bytes they were given as, one for one: paths are taken from them.
 */
export function parseCommand(
  argv: readonly string[],
  bytes: readonly Buffer[] = argv.map((arg) => Buffer.from(arg)),
): Command {
  const [name, ...rest] = argv;
  if (name === undefined) return { name: 'usage' };
  if (name === 'help' || name === '--help' || name === '-h') return { name: 'help', text: HELP };
  if (name === '--version' || name === '-V') return { name: 'version' };
  if (name !== 'scan' && name !== 'health') {
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}; the commands are scan and health`,
    );
  }
  const config = {
    args: rest,
    // health's options are a subset of scan's: its values are scan's with some never set.
    options: (name === 'scan' ? SCAN_OPTIONS : ENGINE_OPTIONS) as typeof SCAN_OPTIONS,
    allowPositionals: true,
    strict: true,
    tokens: true,
  } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals, tokens } = parsed;
  // Token indexes count from `rest`, which starts one after the command.
  const argBytes = (index: number): Buffer => bytes[index + 1] as Buffer;
  const paths = tokens.flatMap((t) => (t.kind === 'positional' ? [argBytes(t.index)] : []));
  let policy: Buffer | undefined;
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name !== 'policy') continue;
    // The last one counts, as in `values`.
    const arg = argBytes(token.index);
    policy =
      token.inlineValue === true ? arg.subarray(arg.indexOf('=') + 1) : argBytes(token.index + 1);
  }
  if (values.help === true)
    return { name: 'help', text: name === 'scan' ? SCAN_HELP : HEALTH_HELP };
  // `scanbridge scan "$UPLOAD"` with UPLOAD unset: as a path "" would be "." (every file
  // here scanned and the one meant never), so the run could pass on a file it never saw.
  if (paths.some((path) => path.length === 0) || policy?.length === 0) {
    const which = policy?.length === 0 ? '--policy: ' : '';
    throw new UsageError(
      `${which}an empty argument is not a file or directory (an unset variable?)`,
    );
  }
  if (name === 'scan' && positionals.length === 0) {
    throw new UsageError('scan needs at least one file or directory');
  }
  if (name === 'health' && positionals.length > 0) {
    throw new UsageError(`health takes no files, got ${JSON.stringify(positionals[0])}`);
  }
  return {
    name,
    paths,
    flags: {
      clamav: values.clamav,
      virustotalKeyEnv: values['virustotal-key-env'],
      virustotalUrl: values['virustotal-url'],
      virustotalUpload: values['virustotal-upload'],
      policy,
      json: values.json,
      failOpen: values['fail-open'],
      concurrency:
        values.concurrency === undefined
          ? 4
          : wholeNumber('--concurrency', values.concurrency, { min: 1, max: 64 }),
      timeout:
        values.timeout === undefined
          ? DEFAULT_PROBE_TIMEOUT_MS
          : wholeNumber('--timeout', values.timeout, { min: 1, max: 600_000, unit: ' of ms' }),
      maxFileSize:
        values['max-file-size'] === undefined
          ? DEFAULT_MAX_FILE_SIZE
          : byteSize('--max-file-size', values['max-file-size']),
    },
  };
}
