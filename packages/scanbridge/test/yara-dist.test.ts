import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Options } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config from '../tsup.config.js';

const PACKAGE = new URL('..', import.meta.url).pathname;
const REPO_MODULES = new URL('../../../node_modules', import.meta.url).pathname;

// Scans once from the built index.js, then says which scanning process it ran, from /proc.
const HOST = `
import { readdirSync, readFileSync } from 'node:fs';
import { FileInput, YaraScanner } from './dist/index.js';
const scanner = new YaraScanner({ rules: 'rule Doc { condition: extension == "pdf" }' });
const result = await scanner.scan(FileInput.fromBytes(Buffer.from('x'), 'Report.PDF'));
const children = readdirSync('/proc').filter((name) => /^\\d+$/.test(name)).flatMap((name) => {
  try {
    const stat = readFileSync('/proc/' + name + '/stat', 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return ppid === process.pid ? [readFileSync('/proc/' + name + '/cmdline', 'utf8').split('\\0')] : [];
  } catch {
    return [];
  }
});
console.log(JSON.stringify({ outcome: result.outcome.type, rules: result.details.rules, children }));
`;

let root: string | undefined;

/**
 * The package built by its own tsup entries (workspace packages bundled from their sources, as
 * a fresh clone has no dist of theirs), beside a node_modules that has the binding.
 */
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'scanbridge-yara-dist-'));
  // The package's own entries, so one it needs and tsup leaves out fails here.
  const entries = (config as Options).entry as Record<string, string>;
  await build({
    config: false,
    entry: Object.fromEntries(
      Object.entries(entries).map(([name, file]) => [name, join(PACKAGE, file)]),
    ),
    outDir: join(root, 'dist'),
    format: ['esm'],
    platform: 'node',
    target: 'es2022',
    noExternal: [/./],
    dts: false,
    sourcemap: false,
    clean: false,
    silent: true,
    esbuildOptions(esbuild) {
      esbuild.conditions = ['breakwater-source'];
    },
  });
  await symlink(REPO_MODULES, join(root, 'node_modules'));
  await writeFile(join(root, 'host.mjs'), HOST);
}, 60_000);

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('YaraScanner from the built package', () => {
  it("forks dist/yara-child.js, tsup's entry of its own, with no TypeScript loader", async () => {
    const dir = root as string;
    const run = spawn(process.execPath, [join(dir, 'host.mjs')], {
      cwd: PACKAGE,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    run.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    run.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const deadline = setTimeout(() => run.kill('SIGKILL'), 15_000);
    const code = await new Promise((resolve) => run.once('close', resolve));
    clearTimeout(deadline);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const answer = JSON.parse(stdout) as { outcome: string; rules: string[]; children: string[][] };
    expect(answer).toMatchObject({ outcome: 'infected', rules: ['Doc'] });
    expect(answer.children).toHaveLength(1);
    const argv = answer.children[0] ?? [];
    expect(argv).toContain(join(dir, 'dist/yara-child.js'));
    expect(argv.join(' ')).not.toContain('tsx');
  });
});
