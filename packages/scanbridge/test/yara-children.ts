import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll } from 'vitest';

/** Pids of the YARA scanning processes whose parent is `parent`, read from /proc. */
export function yaraChildren(parent: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (ppid === parent && argv.includes('yara-child')) found.push(Number(name));
    } catch {
      // The process ended while it was being read.
    }
  }
  return found;
}

/** Whether `pid` is still a process (a zombie counts as gone: it runs nothing). */
export function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** CPU time `pid` has used so far, in clock ticks (user and system); 0 once it is gone. */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Whether `pid`, a child of this process, has been waited for: its exit has been heard. */
export function reaped(pid: number): boolean {
  return !existsSync(`/proc/${pid}`);
}

/** Polls `check` every 20 ms until it holds or `ms` pass; whether it held. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

export interface Host {
  readonly pid: number;
  /** Resolves with the host's first stdout line. */
  readonly ready: Promise<string>;
  /** Everything the host wrote to stdout, once it exited. */
  readonly output: Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs test/yara-host.ts in a process of its own; every host and every scanning process it
 * left is killed after the file's tests, also when one fails.
 */
export function yaraHosts(): (mode: 'exit' | 'close' | 'wait' | 'busy', file?: string) => Host {
  const started: number[] = [];
  afterAll(() => {
    for (const pid of started) {
      for (const child of yaraChildren(pid)) process.kill(child, 'SIGKILL');
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
  return (mode, file) => {
    const host = spawn(
      process.execPath,
      [
        '--conditions=breakwater-source',
        '--import',
        'tsx',
        new URL('./yara-host.ts', import.meta.url).pathname,
        mode,
        ...(file === undefined ? [] : [file]),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (host.pid === undefined) throw new Error('the YARA host process did not start');
    started.push(host.pid);
    let stderr = '';
    host.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let out = '';
    const ready = new Promise<string>((resolve, reject) => {
      host.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
      });
      host.once('exit', (code) => reject(new Error(`the host exited (${code}) first: ${stderr}`)));
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      host.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const output = exited.then(() => out);
    return { pid: host.pid, ready, output, exited };
  };
}

/**
 * A rule that is slow to scan: at each `a`, up to 60 bytes looked at for a `c` (about 2 s per
 * MB of `a` on an idle core). Slow for what the input is, not for how often a pattern matches,
 * so the scanning process's cap on matches does not make it fast.
 */
export const SLOW_RULE = 'rule Slow { strings: $slow = /a[^b]{0,60}c/ condition: $slow }';

/** `kib` KiB of `a`, then the `c` that makes SLOW_RULE match at the very end. */
export function slowBytes(kib: number): Buffer {
  return Buffer.concat([Buffer.alloc(kib * 1024, 0x61), Buffer.from('c')]);
}
