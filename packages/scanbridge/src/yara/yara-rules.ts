import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeValue, nonEmptyString, rejectUnknownKeys } from '@breakwater/core/validate';
import type { CompilerError } from '@litko/yara-x';
import { ScanError } from '../errors.js';
import { describeFsError } from '../fs-error.js';
import { ruleDeclarations } from './yara-declarations.js';
import type { YaraModule } from './yara-module.js';
import { COMPILE_OPTIONS } from './yara-variables.js';

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
  /** Every source, in order, as one text: what the scanning process compiles again. */
  readonly source: string;
  /** The files compiled, in order (none for inline text). */
  readonly files: readonly string[];
  /** sha256 of every source, in order: changes whenever the rules do. */
  readonly digest: string;
}

const RULE_FILE = /\.(yar|yara)$/i;

/**
 * Reads the rules and checks that they compile: each file alone for its syntax, then all as
 * one text: the binding's addRuleSource forgets the defined variables, so the sources are
 * joined and compiled at once (a rule may then use a rule of an earlier file). Every error is named by its file and its line there; a
 * rule declared in two files is found here, naming both places.
 */
export function compileRules(
  owner: string,
  engine: string,
  yara: YaraModule,
  rules: unknown,
): CompiledRules {
  const sources = readSources(owner, engine, rules);
  const source = joined(sources)
    .map((p) => p.text)
    .join('');
  const duplicated = duplicates(sources);
  const syntax = syntaxErrors(yara, sources);
  // The files without syntax errors are compiled together for what else is wrong.
  const parts = joined(sources.filter((s) => !syntax.has(s)));
  const text = parts.map((p) => p.text).join('');
  const errors = yara.validate(text, COMPILE_OPTIONS).errors;
  if (syntax.size > 0 || errors.length > 0 || duplicated.length > 0) {
    // The compiler's own report of a duplicate found here names one place only.
    const ours = new Set(duplicated.map((d) => d.at));
    const theirs = errors
      .map((error) => locate(parts, error))
      .filter((error) => !(error.code === 'E012' && ours.has(error.at)));
    throw compileError(engine, [
      ...[...syntax.values()].flat(),
      ...[...theirs, ...duplicated].map((problem) => problem.text),
    ]);
  }
  const digest = createHash('sha256');
  for (const s of sources) digest.update(s.label).update('\0').update(s.text).update('\0');
  return {
    source,
    files: sources.flatMap((s) => (s.isFile ? [s.label] : [])),
    digest: digest.digest('hex'),
  };
}

/**
 * The files with syntax errors, and those errors, each file read alone: joined, a file that ends inside a comment or
 * a text string would swallow the start of the next one, its rules gone without an error. Only
 * syntax (E001): a reference to a rule of an earlier file is checked in the joined text.
 */
function syntaxErrors(yara: YaraModule, sources: readonly RuleSource[]): Map<RuleSource, string[]> {
  const found = new Map<RuleSource, string[]>();
  if (sources.length < 2) return found;
  for (const source of sources) {
    const errors = yara
      .validate(source.text, COMPILE_OPTIONS)
      .errors.filter((error) => error.code === 'E001')
      .map((error) => describe(source.label, error.message));
    if (errors.length > 0) found.set(source, errors);
  }
  return found;
}

/** A source within the joined text, and the line of that text it starts on. */
interface Part {
  readonly label: string;
  readonly text: string;
  readonly firstLine: number;
}

/** What is wrong, and where: `at` is `file:line`. */
interface Problem {
  readonly code?: string;
  readonly at: string;
  readonly text: string;
}

/** Each source ends with a line break, so the next starts on a line of its own. */
function joined(sources: readonly RuleSource[]): Part[] {
  let firstLine = 1;
  return sources.map((s) => {
    const text = s.text.endsWith('\n') ? s.text : `${s.text}\n`;
    const part = { label: s.label, text, firstLine };
    firstLine += text.split('\n').length - 1;
    return part;
  });
}

/** An error in the joined text, named by the file and the line it comes from. */
function locate(parts: readonly Part[], error: CompilerError): Problem {
  const line = Number(/-->\s*line:(\d+):/.exec(error.message)?.[1] ?? Number.NaN);
  let part = parts[0];
  for (const p of parts) if (p.firstLine <= line) part = p;
  const label = part?.label ?? 'rules';
  const local = line - (part?.firstLine ?? 1) + 1;
  const message = error.message.replace(
    /(-->\s*line:)\d+/,
    (_, arrow: string) => `${arrow}${local}`,
  );
  return { code: error.code, at: `${label}:${local}`, text: describe(label, message) };
}

/**
 * Rules declared again in a later file (every file shares YARA-X's default namespace), at the
 * later declaration, naming the first.
 */
function duplicates(sources: readonly RuleSource[]): Problem[] {
  const seen = new Map<string, { readonly source: RuleSource; readonly at: string }>();
  const problems: Problem[] = [];
  for (const source of sources) {
    for (const { name, line } of ruleDeclarations(source.text)) {
      const at = `${source.label}:${line}`;
      const first = seen.get(name);
      if (first === undefined) seen.set(name, { source, at });
      else if (first.source !== source) {
        // One within a file is the compiler's to report: it names both lines.
        const text = `${at}: duplicate rule "${name}" (first declared at ${first.at})`;
        problems.push({ at, text });
      }
    }
  }
  return problems;
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
    // A byte order mark (an editor's, on Windows) is no rule text: YARA-X takes it for a syntax error.
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
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

function compileError(engine: string, problems: readonly string[]): ScanError {
  const list = problems.map((p) => `\n  ${p}`).join('');
  return new ScanError(
    'configuration',
    `${engine}: the YARA rules do not compile (${problems.length} error${problems.length === 1 ? '' : 's'}):${list}`,
    { engine },
  );
}
