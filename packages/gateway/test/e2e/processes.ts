import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The process's resident set (VmRSS in /proc/<pid>/status), in bytes; undefined once it is gone. */
function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live process (a zombie, dead but not yet reaped, is not). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Every live descendant of `pid` (children, their children...), from /proc. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The command name may hold spaces and parentheses; the state and the parent's pid follow it.
    const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z') continue;
    const list = parents.get(Number(parent)) ?? [];
    list.push(Number(entry));
    parents.set(Number(parent), list);
  }
  const found: number[] = [];
  const walk = (of: number): void => {
    for (const child of parents.get(of) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** The process's command line, its arguments joined by spaces; '' once it is gone. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** `pgrep -f <pattern>`: the pids whose command line holds `pattern` (this test's own excepted). */
export function pgrep(pattern: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile('pgrep', ['-f', pattern], (error, stdout) => {
      // pgrep exits 1 when nothing matches.
      if (error !== null && error.code !== 1) return reject(error);
      resolve(
        stdout
          .split('\n')
          .filter((line) => line !== '')
          .map(Number)
          .filter((pid) => pid !== process.pid),
      );
    });
  });
}

/** Samples `pid`'s VmRSS every `everyMs` until stopped: the peak, and how many samples were read. */
export function sampleRss(pid: number, everyMs: number): () => { peak: number; samples: number } {
  let peak = 0;
  let samples = 0;
  const take = (): void => {
    const rss = rssBytes(pid);
    if (rss === undefined) return;
    samples++;
    peak = Math.max(peak, rss);
  };
  take();
  const timer = setInterval(take, everyMs);
  return () => {
    clearInterval(timer);
    take();
    return { peak, samples };
  };
}
