import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './config-error.js';
import { locateJsonError } from './json-error.js';
import { parseConfig } from './parse-config.js';
import { isPlainObject } from './section.js';
import type { GatewayConfig } from './types.js';

/** What the command line's flags set, over the file's values. */
export interface ConfigOverrides {
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  /** `--spicedb host:port`. */
  readonly spicedbEndpoint?: string | undefined;
}

export interface LoadConfigOptions {
  readonly overrides?: ConfigOverrides | undefined;
  /** Resolves a relative `path`, and relative paths when there is no file. Default `process.cwd()`. */
  readonly cwd?: string | undefined;
}

/**
 * The configuration file at `path` (JSON), checked whole; without a path, every default.
 * Overrides apply before the checks, so what depends on them (SpiceDB's `insecure` default,
 * whether its key is needed) follows the value the gateway will really use.
 */
export async function loadConfig(
  path: string | undefined,
  env: NodeJS.ProcessEnv,
  options: LoadConfigOptions = {},
): Promise<GatewayConfig> {
  const cwd = options.cwd ?? process.cwd();
  if (path === undefined) {
    return parseConfig(withOverrides({}, options.overrides), { baseDir: cwd, env });
  }
  const file = resolve(cwd, path);
  const value = await readConfigFile(file);
  return parseConfig(withOverrides(value, options.overrides), {
    baseDir: dirname(file),
    env,
    source: file,
  });
}

/** The file's JSON; a file that cannot be read or parsed is a ConfigError naming file, line and column. */
export async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : (error as Error).message;
    throw new ConfigError(file, [
      { path: '', message: `cannot read the configuration: ${problem}` },
    ]);
  }
  // Editors on Windows may save a byte-order mark, which JSON.parse refuses.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw syntaxError(file, text, (error as Error).message);
  }
}

/**
 * `file:line:column: not valid JSON: ...`, the form editors and terminals link to the spot. V8's
 * own words where it names the position; otherwise (it quotes the text around the error instead,
 * which may hold anything) the spot and the token found there, read by {@link locateJsonError}.
 */
function syntaxError(file: string, text: string, message: string): ConfigError {
  const at = /\s+in JSON at position (\d+)(?: \(line \d+ column \d+\))?$/.exec(message);
  const spot =
    at === null
      ? (locateJsonError(text) ?? { offset: text.length, problem: 'the file ends too soon' })
      : { offset: Number(at[1]), problem: message.slice(0, at.index) };
  const before = text.slice(0, spot.offset).split('\n');
  const line = before.length;
  const column = (before.at(-1)?.length ?? 0) + 1;
  return new ConfigError(`${file}:${line}:${column}`, [
    { path: '', message: `not valid JSON: ${spot.problem}` },
  ]);
}

/** The file's value with the flags' values set over it; a value that is not an object stays, to be reported. */
export function withOverrides(value: unknown, overrides: ConfigOverrides = {}): unknown {
  if (!isPlainObject(value)) return value;
  const result: Record<string, unknown> = { ...value };
  if (overrides.host !== undefined) result.host = overrides.host;
  if (overrides.port !== undefined) result.port = overrides.port;
  if (overrides.spicedbEndpoint !== undefined) {
    const spicedb = result.spicedb;
    if (spicedb === undefined || isPlainObject(spicedb)) {
      result.spicedb = { ...spicedb, endpoint: overrides.spicedbEndpoint };
    }
  }
  return result;
}
