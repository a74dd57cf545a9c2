import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeValue, nonEmptyString, rejectUnknownKeys } from '@breakwater/core/validate';
import type { YaraX } from '@litko/yara-x';
import { ScanError } from '../errors.js';
import { describeFsError } from '../fs-error.js';
import type { YaraModule } from './yara-module.js';

/** Rule source text, one rule file, or every `*.yar` / `*.yara` file of a directory. */
export type YaraRules = string | { readonly file: string } | { readonly dir: string };

/** One piece of rule text and what to call it in an error. */
interface RuleSource {
  readonly label: string;
  readonly text: string;
  /** False for inline text. */
  readonly isFile: boolean;
}

export interface CompiledRules {
  readonly rules: YaraX;
  /** The rule sources, in order, as compiled: what the worker thread compiles again. */
  readonly sources: readonly string[];
  /** The files compiled, in order (none for inline text). */
  readonly files: readonly string[];
  /** sha256 of every source, in order: changes whenever the rules do. */
  readonly digest: string;
}

const RULE_FILE = /\.(yar|yara)$/i;

/**
 * Reads and compiles the rules once. Each file is checked on its own first, so every error
 * names its file and line; a file whose rules clash with an earlier one (a duplicate rule)
 * fails as it is added, named the same way.
 */
export function compileRules(
  owner: string,
  engine: string,
  yara: YaraModule,
  rules: unknown,
): CompiledRules {
  const sources = readSources(owner, engine, rules);
  const problems = sources.flatMap((source) =>
    yara.validate(source.text).errors.map((error) => describe(source.label, error.message)),
  );
  if (problems.length > 0) throw compileError(engine, problems);
  const compiled = yara.create();
  const digest = createHash('sha256');
  for (const source of sources) {
    try {
      compiled.addRuleSource(source.text);
    } catch (error) {
      throw compileError(engine, [describe(source.label, messageOf(error))], error);
    }
    digest.update(source.label).update('\0').update(source.text).update('\0');
  }
  const files = sources.flatMap((s) => (s.isFile ? [s.label] : []));
  return {
    rules: compiled,
    sources: sources.map((s) => s.text),
    files,
    digest: digest.digest('hex'),
  };
}

function readSources(owner: string, engine: string, rules: unknown): RuleSource[] {
  if (typeof rules === 'string') {
    return [{ label: 'rules', text: nonEmptyString(owner, 'rules', rules), isFile: false }];
  }
  if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
    throw new TypeError(
      `${owner}: option "rules" must be rule text, { file } or { dir }, got ${describeValue(rules)}`,
    );
  }
  rejectUnknownKeys(`${owner} rules`, rules, new Set(['file', 'dir']));
  const { file, dir } = rules as { file?: unknown; dir?: unknown };
  if ((file === undefined) === (dir === undefined)) {
    throw new TypeError(`${owner}: option "rules" needs exactly one of "file" or "dir"`);
  }
  if (file !== undefined) {
    const path = nonEmptyString(owner, 'rules.file', file);
    return [{ label: path, text: readRuleFile(engine, path), isFile: true }];
  }
  const path = nonEmptyString(owner, 'rules.dir', dir);
  let names: string[];
  try {
    // Names only: a rule file may be a symlink (a Kubernetes ConfigMap or Secret mounts every
    // file as one), so what each name is comes from stat, which follows links.
    names = readdirSync(path)
      .filter((name) => RULE_FILE.test(name))
      .sort();
  } catch (error) {
    throw new ScanError(
      'configuration',
      `${engine}: cannot read the rules directory ${path}: ${describeFsError(error)}`,
      { engine, cause: error },
    );
  }
  const files = names.map((name) => join(path, name)).filter((file) => isRuleFile(engine, file));
  if (files.length === 0) {
    throw new ScanError(
      'configuration',
      `${engine}: the rules directory ${path} has no *.yar or *.yara file`,
      { engine },
    );
  }
  return files.map((label) => ({ label, text: readRuleFile(engine, label), isFile: true }));
}

/**
 * A `*.yar` / `*.yara` entry, or a symlink to one, that is a file. A subdirectory so named is
 * skipped, like any subdirectory; anything else so named (a dangling link, a socket) is an
 * error, not a rule file silently left out.
 */
function isRuleFile(engine: string, file: string): boolean {
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch (error) {
    throw new ScanError(
      'configuration',
      `${engine}: cannot read the rule file ${file}: ${describeFsError(error)}`,
      { engine, cause: error },
    );
  }
  if (stats.isFile()) return true;
  if (stats.isDirectory()) return false;
  throw new ScanError('configuration', `${engine}: the rule file ${file} is not a regular file`, {
    engine,
  });
}

function readRuleFile(engine: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ScanError(
      'configuration',
      `${engine}: cannot read the rule file ${path}: ${describeFsError(error)}`,
      { engine, cause: error },
    );
  }
}

/**
 * YARA-X reports `error[E001]: syntax error\n --> line:4:1\n ... ^ expecting ...`; this
 * becomes `rules/x.yar:4:1: syntax error (E001): expecting ...`.
 */
export function describe(label: string, message: string): string {
  const text = message.replace(/^Compilation error \([A-Z0-9]+\): /, '');
  const title = /error\[([A-Za-z0-9_]+)\]: ([^\n]*)/.exec(text);
  const where = /-->\s*line:(\d+):(\d+)/.exec(text);
  const note = /\^+ ([^\n]+)/.exec(text)?.[1];
  const location = where === null ? label : `${label}:${where[1]}:${where[2]}`;
  const what = title === null ? (text.split('\n')[0] ?? text) : `${title[2]} (${title[1]})`;
  return `${location}: ${what}${note === undefined ? '' : `: ${note}`}`;
}

function compileError(engine: string, problems: readonly string[], cause?: unknown): ScanError {
  const list = problems.map((p) => `\n  ${p}`).join('');
  return new ScanError(
    'configuration',
    `${engine}: the YARA rules do not compile (${problems.length} error${problems.length === 1 ? '' : 's'}):${list}`,
    { engine, ...(cause === undefined ? {} : { cause }) },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
