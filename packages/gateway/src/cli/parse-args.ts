import { parseArgs } from 'node:util';
import { parseHostPort } from '../config/addresses.js';
import type { ConfigOverrides } from '../config/load-config.js';
import { hostProblem } from '../config/parse-config.js';
import { closestName } from '../config/suggest.js';
import { UsageError } from './usage-error.js';

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'version' }
  | {
      readonly name: 'serve';
      readonly config: string | undefined;
      readonly overrides: ConfigOverrides;
    }
  | {
      readonly name: 'demo';
      readonly host: string;
      readonly port: number;
      readonly traffic: boolean;
      readonly durationSeconds: number | undefined;
    }
  | { readonly name: 'hash-token' };

const OPTIONS = {
  serve: {
    config: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    spicedb: { type: 'string' },
  },
  demo: {
    host: { type: 'string' },
    port: { type: 'string' },
    'no-traffic': { type: 'boolean' },
    duration: { type: 'string' },
  },
  'hash-token': {},
} as const;
type CommandName = keyof typeof OPTIONS;
const COMMANDS = Object.keys(OPTIONS) as CommandName[];
const DEMO_PORT = 8080;
const DEMO_HOST = '127.0.0.1';

/** The command line, checked: a UsageError says in one line what is wrong with it. */
export function parseCommand(argv: readonly string[]): Command {
  const flags = argv.slice(0, indexOrEnd(argv, '--'));
  if (flags.includes('--help') || flags.includes('-h')) return { name: 'help' };
  if (flags.includes('--version') || flags.includes('-V')) return { name: 'version' };
  const first = argv[0];
  const explicit = first !== undefined && !first.startsWith('-');
  const name = explicit ? first : 'serve';
  if (name === 'help') return { name: 'help' };
  if (!isCommand(name)) {
    const guess = closestName(name, COMMANDS);
    throw new UsageError(
      `unknown command ${JSON.stringify(name)}${guess === undefined ? '' : ` (did you mean ${guess}?)`}; the commands are serve, demo and hash-token`,
    );
  }
  const values = parse(name, explicit ? argv.slice(1) : argv);
  switch (name) {
    case 'serve':
      return {
        name,
        config: nonEmpty('--config', values.config),
        overrides: {
          host: host(values.host),
          port: port(values.port),
          spicedbEndpoint: spicedb(values.spicedb),
        },
      };
    case 'demo':
      return {
        name,
        host: host(values.host) ?? DEMO_HOST,
        port: port(values.port) ?? DEMO_PORT,
        traffic: values['no-traffic'] !== true,
        durationSeconds: duration(values.duration),
      };
    case 'hash-token':
      return { name };
  }
}

function isCommand(name: string): name is CommandName {
  return (COMMANDS as string[]).includes(name);
}

function indexOrEnd(argv: readonly string[], value: string): number {
  const index = argv.indexOf(value);
  return index < 0 ? argv.length : index;
}

type Values = Partial<Record<'config' | 'host' | 'port' | 'spicedb' | 'duration', string>> & {
  'no-traffic'?: boolean;
};

/** node:util's parseArgs in strict mode, its errors said in this command's words. */
function parse(name: CommandName, args: readonly string[]): Values {
  const options = OPTIONS[name];
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false })
      .values as Values;
  } catch (error) {
    throw new UsageError(reword(name, error as Error & { code?: string }));
  }
}

function reword(name: CommandName, error: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
  const flag = quoted.split(' ')[0] ?? quoted;
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const known = Object.keys(OPTIONS[name]).map((o) => `--${o}`);
      const elsewhere = COMMANDS.filter((c) => c !== name && `${flag.slice(2)}` in OPTIONS[c]);
      if (elsewhere[0] !== undefined)
        return `${flag} is an option of ${elsewhere[0]}, not of ${name}`;
      const guess = flag.startsWith('--') ? closestName(flag, known) : undefined;
      const list =
        known.length === 0
          ? `${name} takes no options`
          : `the options of ${name} are ${known.join(', ')}`;
      return `unknown option ${flag}${guess === undefined ? `; ${list}` : ` (did you mean ${guess}?)`}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (error.message.includes('does not take an argument')) return `${flag} takes no value`;
      if (error.message.includes('ambiguous')) {
        return `${flag} needs a value (for one that starts with "-", write ${flag}=<value>)`;
      }
      return `${flag} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      // Not quoted for hash-token: the argument is most likely the token itself.
      return name === 'hash-token'
        ? 'hash-token takes no arguments: give the token on stdin, where ps and shell history cannot see it'
        : `unexpected argument ${JSON.stringify(quoted)}: ${name} takes only options`;
    default:
      return error.message;
  }
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  // `--config "$CONFIG"` with CONFIG unset would quietly serve every default.
  if (value === '') throw new UsageError(`${flag} is empty (an unset variable?)`);
  return value;
}

function host(value: string | undefined): string | undefined {
  if (nonEmpty('--host', value) === undefined) return undefined;
  const problem = hostProblem(value as string);
  if (problem !== undefined) throw new UsageError(`--host ${problem}`);
  return value;
}

function port(value: string | undefined): number | undefined {
  if (nonEmpty('--port', value) === undefined) return undefined;
  const number = /^\d{1,5}$/.test(value as string) ? Number(value) : Number.NaN;
  if (!(number <= 65_535)) {
    throw new UsageError(
      `--port must be a port number from 0 to 65535, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

function spicedb(value: string | undefined): string | undefined {
  if (nonEmpty('--spicedb', value) === undefined) return undefined;
  if (parseHostPort(value as string) === undefined) {
    throw new UsageError(
      `--spicedb must be host:port (or [v6]:port) with a port from 1 to 65535, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function duration(value: string | undefined): number | undefined {
  if (nonEmpty('--duration', value) === undefined) return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(value as string) ? Number(value) : Number.NaN;
  if (!(seconds > 0 && seconds <= 86_400)) {
    throw new UsageError(
      `--duration must be a number of seconds above 0 and at most 86400, got ${JSON.stringify(value)}`,
    );
  }
  return seconds;
}
