import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clamdCommand } from '../src/clamav/clamd-client.js';

/** clamd's binary, or undefined when it is not installed. */
export const CLAMD = ['/usr/sbin/clamd', '/usr/bin/clamd'].find((path) => existsSync(path));

/** A free loopback port, found by letting the OS pick one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}

export interface Clamd {
  readonly port: number;
  readonly socketPath: string;
  /** The running clamd's process id (for its CPU time in /proc/<pid>/stat). */
  readonly pid: number | undefined;
  /** SIGKILLs clamd, as a crash would. */
  kill(): Promise<void>;
  /** Starts clamd again on the same port and socket. */
  start(): Promise<void>;
  /** Stops clamd and removes its files. */
  stop(): Promise<void>;
}

export interface ClamdOptions {
  /** Default 1M: tests of the size limit stay fast. */
  streamMaxLength?: string;
  /**
   * Default 10, clamd's own: at least the scanner's default sessions, so tests run clamd as
   * the README says to (`maxSessions` <= `MaxThreads`).
   */
  maxThreads?: number;
  /** More clamd.conf lines (`MaxRecursion 3`), after the harness's own. */
  extra?: readonly string[];
}

/**
 * A real clamd on a free loopback port and a unix socket in a temporary directory, with a
 * one-line signature database (the EICAR test file's md5), since there is no network for freshclam.
 */
export async function startClamd(options: ClamdOptions = {}): Promise<Clamd> {
  if (CLAMD === undefined)
    throw new Error(
      'clamd is not installed: run `apt-get install -y clamav-daemon` (npm test does this as root)',
    );
  const dir = await mkdtemp(join(tmpdir(), 'clamd-test-'));
  const port = await freePort();
  const socketPath = join(dir, 'clamd.sock');
  await mkdir(join(dir, 'db'));
  await writeFile(
    join(dir, 'db', 'test.hdb'),
    '44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n',
  );
  const config = join(dir, 'clamd.conf');
  await writeFile(
    config,
    [
      'Foreground yes',
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      `LocalSocket ${socketPath}`,
      `DatabaseDirectory ${join(dir, 'db')}`,
      `LogFile ${join(dir, 'clamd.log')}`,
      `PidFile ${join(dir, 'clamd.pid')}`,
      `StreamMaxLength ${options.streamMaxLength ?? '1M'}`,
      `MaxThreads ${options.maxThreads ?? 10}`,
      // Without it a file past a scan limit (nesting, size) comes back `OK`, unscanned.
      'AlertExceedsMax yes',
      ...(options.extra ?? []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    await rm(socketPath, { force: true });
    child = spawn(CLAMD, ['-c', config], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`clamd exited with ${child.exitCode}; see ${join(dir, 'clamd.log')}`);
      const pong = await clamdCommand({
        endpoint: { host: '127.0.0.1', port },
        command: 'PING',
        chunkSize: 1,
        connectTimeoutMs: 500,
        timeoutMs: 1_000,
        engine: 'harness',
      }).catch(() => undefined);
      if (pong === 'PONG') return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('clamd did not answer PING within 30 s');
  };
  await start();
  return {
    port,
    socketPath,
    get pid() {
      return child?.pid;
    },
    start,
    kill: () => stopChild(child, 0),
    stop: async () => {
      await stopChild(child, STOP_GRACE_MS);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** How long clamd gets to exit on SIGTERM before it is killed. */
const STOP_GRACE_MS = 2_000;

/**
 * Ends `child`: SIGTERM, then SIGKILL once `graceMs` passed (at once for 0); resolves when it
 * exited. A clamd busy with a backlog can outlive SIGTERM by far longer than a test run, and a
 * test run must leave no process behind.
 */
export function stopChild(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null)
      return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
  });
}
