import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'tsup';
import { afterAll, beforeAll } from 'vitest';

const PACKAGE = new URL('..', import.meta.url).pathname;
/** Below vitest's 20 s test limit, so a hung run is killed by its own test, not left over. */
const RUN_LIMIT_MS = 15_000;

export interface CliRun {
  readonly code: number | null;
  /** The signal that ended the run, if one did. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit, for bounds on how long a fault may take. */
  readonly ms: number;
}

export interface CliRunOptions {
  /** The child's whole environment, besides PATH: nothing leaks in from the test's. */
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Closes the read end of stdout at once, as `| head -1` does once it has its line. */
  readonly closeStdout?: boolean;
  /** A file stdout writes to instead of a pipe, as `> /dev/full` does. */
  readonly stdoutTo?: string;
}

/**
 * The scanbridge executable as npm installs it: the package's own bin/scanbridge.js beside
 * its package.json, importing ../dist/cli.js, which is built from the current sources (with
 * the workspace packages bundled from theirs) before the file's tests, so no test runs a stale
 * dist/. Each run is a child process of its own.
 */
export function useCliProcess(): (
  argv: readonly (string | Buffer)[],
  options?: CliRunOptions,
) => Promise<CliRun> {
  let root: string | undefined;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'scanbridge-cli-'));
    await build({
      config: false,
      entry: { cli: join(PACKAGE, 'src/cli/main.ts') },
      outDir: join(root, 'dist'),
      format: ['esm'],
      platform: 'node',
      target: 'es2022',
      noExternal: [/./],
      dts: false,
      sourcemap: false,
      clean: false,
      silent: true,
      esbuildOptions(options) {
        options.conditions = ['breakwater-source'];
      },
    });
    await mkdir(join(root, 'bin'));
    await copyFile(join(PACKAGE, 'bin/scanbridge.js'), join(root, 'bin/scanbridge.js'));
    await copyFile(join(PACKAGE, 'package.json'), join(root, 'package.json'));
  }, 30_000);
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });
  return (argv, options = {}) => {
    if (root === undefined) throw new Error('useCliProcess: run before the build');
    const started = performance.now();
    const [command, args] = commandLine([
      process.execPath,
      join(root, 'bin/scanbridge.js'),
      ...argv,
    ]);
    const stdoutFd = options.stdoutTo === undefined ? undefined : openSync(options.stdoutTo, 'w');
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', stdoutFd ?? 'pipe', 'pipe'],
    });
    // The child has its own copy of the descriptor now.
    if (stdoutFd !== undefined) closeSync(stdoutFd);
    // A run that hangs (the bug a test is after) fails its test and leaves no process behind.
    const deadline = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    let stdout = '';
    let stderr = '';
    if (options.closeStdout === true) child.stdout?.destroy();
    else child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(deadline);
        resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
      });
    });
  };
}

/**
 * How to start `argv`: as it is when every argument is a string; through the shell when one
 * is bytes, since Node encodes every argument it spawns as UTF-8 and a name that is not valid
 * UTF-8 must reach the child as its own bytes. Each argument is then printf's octal escapes
 * (so no byte needs quoting); a trailing newline would be lost to the command substitution.
 */
function commandLine(argv: readonly (string | Buffer)[]): [string, string[]] {
  if (argv.every((arg) => typeof arg === 'string')) {
    const [command, ...args] = argv as string[];
    return [command as string, args];
  }
  const octal = (arg: string | Buffer) =>
    [...Buffer.from(arg)].map((byte) => `\\${byte.toString(8).padStart(3, '0')}`).join('');
  const script = `exec ${argv.map((arg) => `"$(printf '${octal(arg)}')"`).join(' ')}`;
  return ['/bin/sh', ['-c', script]];
}
