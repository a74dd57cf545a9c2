import { readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeValue } from '@breakwater/core/validate';
import { parseClamdAddress, VirusTotalScanner } from '@breakwater/scanbridge';
import { readBreakerOptions } from './breaker-options.js';
import { packageRoot } from './package-root.js';
import { readSecret } from './secret.js';
import { type Issues, isPlainObject, Section } from './section.js';
import type { EngineConfig } from './types.js';

const TYPES = ['yara', 'clamav', 'virustotal'] as const;
type EngineType = (typeof TYPES)[number];
const KEYS: Record<EngineType, readonly string[]> = {
  yara: ['type', 'name', 'rules', 'maxFileSize', 'breaker'],
  clamav: ['type', 'name', 'address', 'breaker'],
  virustotal: ['type', 'name', 'apiKeyEnv', 'baseUrl', 'breaker'],
};
const RULE_FILE = /\.(yar|yara)$/i;
// Printable ASCII, no spaces: the name is a breaker's name, a metric label and a log field.
const ENGINE_NAME = /^[\x21-\x7e]{1,64}$/;
const CLAMD_DEFAULT = '127.0.0.1:3310';
// VirusTotalScanner names the option in its messages: `VirusTotalScanner: option "baseUrl" ...`.
const SCANNER_MESSAGE = /^VirusTotalScanner: option "([^"]+)" (.*)$/s;

/** The rules the gateway ships: `rules/` at the package's root, from `src/` and `dist/` alike. */
export function shippedRulesDir(): string {
  return resolve(packageRoot().dir, 'rules');
}

export interface EngineContext {
  readonly issues: Issues;
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
}

export function readEngines(root: Section, context: EngineContext): EngineConfig[] {
  const items = root.array('engines');
  if (items === undefined) {
    // Without engines in the file, the shipped rules are the one engine; if they are missing
    // (a broken install), that is the whole configuration's problem.
    const dir = shippedRulesDir();
    const problem = rulesProblem({ dir });
    if (problem !== undefined) {
      context.issues.add(
        'engines',
        `none configured, and the shipped YARA rules cannot be used: ${problem}`,
      );
    }
    return [{ type: 'yara', name: 'yara', rules: { dir }, maxFileSize: undefined, breaker: {} }];
  }
  if (items.length === 0) {
    root.fail(
      root.at('engines'),
      'must hold at least one engine (leave it out for the shipped YARA rules)',
    );
  }
  const engines: EngineConfig[] = [];
  const names = new Map<string, string>();
  for (const { path, value } of items) {
    const engine = readEngine(path, value, context);
    if (engine === undefined) continue;
    const first = names.get(engine.name);
    if (first === undefined) names.set(engine.name, path);
    else {
      context.issues.add(
        `${path}.name`,
        `${JSON.stringify(engine.name)} is already the name of ${first}; engine names must be unique (give one a "name")`,
      );
    }
    engines.push(engine);
  }
  return engines;
}

function readEngine(
  path: string,
  value: unknown,
  context: EngineContext,
): EngineConfig | undefined {
  const type = isPlainObject(value) ? value.type : undefined;
  if (!isPlainObject(value)) {
    context.issues.add(
      path,
      `must be an object like { "type": "yara" }, got ${describeValue(value)}`,
    );
    return undefined;
  }
  if (!TYPES.includes(type as EngineType)) {
    // Its other keys depend on the type, so they cannot be checked.
    const allowed = TYPES.map((t) => JSON.stringify(t)).join(', ');
    context.issues.add(`${path}.type`, `must be one of ${allowed}, got ${describeValue(type)}`);
    return undefined;
  }
  const engineType = type as EngineType;
  const section = new Section(context.issues, path, value, KEYS[engineType]);
  const name = section.string('name', engineType);
  if (!ENGINE_NAME.test(name)) {
    section.fail(
      section.at('name'),
      `must be 1 to 64 printable characters without spaces, got ${describeValue(name)}`,
    );
  }
  const breaker = readBreakerOptions(section);
  switch (engineType) {
    case 'yara':
      return {
        type: 'yara',
        name,
        rules: readRules(section, context.baseDir),
        maxFileSize: section.has('maxFileSize') ? section.integer('maxFileSize', 1, 1) : undefined,
        breaker,
      };
    case 'clamav': {
      const address = section.string('address', CLAMD_DEFAULT);
      // A socket path is relative to the configuration, like every other path in it.
      const endpoint = parseClamdAddress(address);
      if (endpoint === undefined) {
        section.fail(
          section.at('address'),
          `must be host, host:port, [v6]:port (port 1 to 65535) or a unix socket path (anything with a "/"), got ${describeValue(address)}`,
        );
      }
      const resolved =
        endpoint !== undefined && 'socketPath' in endpoint
          ? { socketPath: resolve(context.baseDir, endpoint.socketPath) }
          : endpoint;
      return {
        type: 'clamav',
        name,
        address: resolved !== undefined && 'socketPath' in resolved ? resolved.socketPath : address,
        endpoint: resolved ?? { host: '127.0.0.1', port: 3310 },
        breaker,
      };
    }
    case 'virustotal':
      return readVirusTotal(section, name, breaker, context.env);
  }
}

type Rules = string | { readonly file: string } | { readonly dir: string };

function readRules(section: Section, baseDir: string): Rules {
  const value = section.raw('rules');
  if (value === undefined) {
    const dir = shippedRulesDir();
    const problem = rulesProblem({ dir });
    if (problem !== undefined) section.fail(section.at('rules'), `the shipped rules: ${problem}`);
    return { dir };
  }
  if (typeof value === 'string') {
    if (value.trim().length === 0) section.fail(section.at('rules'), 'must not be empty rule text');
    return value;
  }
  const keys = isPlainObject(value) ? Object.keys(value) : [];
  const key = keys[0];
  const given = isPlainObject(value) && key !== undefined ? value[key] : undefined;
  if (
    keys.length !== 1 ||
    (key !== 'file' && key !== 'dir') ||
    typeof given !== 'string' ||
    given === ''
  ) {
    section.fail(
      section.at('rules'),
      `must be rule text, { "file": "<path>" } or { "dir": "<path>" }, got ${describeValue(value)}${isPlainObject(value) ? ` with keys ${keys.join(', ') || 'none'}` : ''}`,
    );
    return value as string;
  }
  const rules =
    key === 'file' ? { file: resolve(baseDir, given) } : { dir: resolve(baseDir, given) };
  const problem = rulesProblem(rules);
  if (problem !== undefined) section.fail(section.at('rules'), problem);
  return rules;
}

/** Why the rules cannot be read, or undefined. Compiling them is the scanner's job, at start. */
function rulesProblem(rules: { file: string } | { dir: string }): string | undefined {
  const path = 'file' in rules ? rules.file : rules.dir;
  const what = 'file' in rules ? 'file' : 'directory';
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? `${what} not found: ${path}`
      : `cannot read ${path}: ${(error as Error).message}`;
  }
  if ('file' in rules) {
    return stats.isFile()
      ? undefined
      : `${path} is not a file (for a directory of rules, use { "dir": ... })`;
  }
  if (!stats.isDirectory())
    return `${path} is not a directory (for one rule file, use { "file": ... })`;
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch (error) {
    return `cannot read ${path}: ${(error as Error).message}`;
  }
  return entries.some((entry) => RULE_FILE.test(entry))
    ? undefined
    : `no *.yar or *.yara file in ${path}`;
}

function readVirusTotal(
  section: Section,
  name: string,
  breaker: EngineConfig['breaker'],
  env: NodeJS.ProcessEnv,
): EngineConfig {
  const apiKeyEnv = section.envName('apiKeyEnv', 'VT_API_KEY');
  const baseUrl = section.string('baseUrl');
  const read = readSecret(env, apiKeyEnv);
  if (read.kind === 'unset') {
    section.fail(section.at('apiKeyEnv'), `environment variable ${apiKeyEnv} is not set`);
  } else if (read.kind === 'invalid') {
    section.fail(section.at('apiKeyEnv'), read.problem);
  }
  const apiKey = read.kind === 'secret' ? read.secret : undefined;
  if (baseUrl !== undefined) {
    // The scanner's own checks (https, or http only to loopback; no credentials in the URL),
    // by building one, with a stand-in key: it only checks and keeps its options until a scan.
    try {
      new VirusTotalScanner({ apiKey: 'stand-in', baseUrl });
    } catch (error) {
      const message = (error as Error).message;
      const match = SCANNER_MESSAGE.exec(message);
      section.fail(section.at(match?.[1] ?? 'baseUrl'), match?.[2] ?? message);
    }
  }
  return {
    type: 'virustotal',
    name,
    // Only read when the configuration has no issues, and then the key is there.
    apiKey: apiKey as NonNullable<typeof apiKey>,
    baseUrl,
    breaker,
  };
}
