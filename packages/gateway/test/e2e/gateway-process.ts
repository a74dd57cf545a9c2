import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { GatewayConfigFile } from '../../src/config/types.js';

const GATEWAY_DIR = resolve(import.meta.dirname, '..', '..');
/** The command a user runs once the package is installed. */
const GATEWAY_BIN = join(GATEWAY_DIR, 'bin', 'breakwater-gateway.js');
/** util-linux: the gateway dies with the test process even when no afterAll runs (a timeout, a signal). */
const SETPRIV = '/usr/bin/setpriv';
const LISTEN_WITHIN_MS = 30_000;
const STOP_WITHIN_MS = 15_000;

export interface GatewayProcess {
  /** `http://127.0.0.1:<port>`, from the line the CLI prints once it listens. */
  readonly url: string;
  readonly pid: number;
  /** Everything it wrote to stderr so far (its JSON log lines). */
  stderr(): string;
  /** SIGTERM, as a service manager stops it; SIGKILL if it has not exited within 15 s. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface GatewayProcessOptions {
  /** Written to `<dir>/config.json` and given to `serve --config`. */
  readonly config: GatewayConfigFile;
  /** Its working directory; relative paths in the configuration are read from here. */
  readonly dir: string;
  /** Its whole environment, besides PATH (secrets, TMPDIR). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * `breakwater-gateway serve --config <dir>/config.json` as a process of its own, the built
 * command as installed (freshGatewayDist() first, so it is this checkout's code); resolves once
 * it says where it listens.
 */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const configFile = join(options.dir, 'config.json');
  await writeFile(configFile, `${JSON.stringify(options.config, null, 2)}\n`);
  const command = [process.execPath, GATEWAY_BIN, 'serve', '--config', configFile];
  const child = existsSync(SETPRIV)
    ? spawn(SETPRIV, ['--pdeathsig', 'KILL', ...command], spawnOptions(options))
    : spawn(command[0] as string, command.slice(1), spawnOptions(options));
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const stop = () => stopProcess(child, exited);
  try {
    const url = await listening(
      child,
      exited,
      () => stdout,
      () => stderr,
    );
    return { url, pid: child.pid as number, stderr: () => stderr, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function spawnOptions(options: GatewayProcessOptions) {
  return {
    cwd: options.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
  };
}

async function listening(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  stdout: () => string,
  stderr: () => string,
): Promise<string> {
  const deadline = performance.now() + LISTEN_WITHIN_MS;
  let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((how) => {
    gone = how;
  });
  while (performance.now() < deadline) {
    const url = /breakwater-gateway listening on (http:\/\/\S+)/.exec(stdout())?.[1];
    if (url !== undefined) return url;
    if (gone !== undefined) {
      throw new Error(
        `breakwater-gateway serve exited (${gone.code ?? gone.signal}) before it listened:\n${stderr()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    `breakwater-gateway serve (pid ${child.pid}) did not listen within ${LISTEN_WITHIN_MS} ms:\n${stderr()}`,
  );
}

async function stopProcess(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_WITHIN_MS);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }
  return exited;
}
