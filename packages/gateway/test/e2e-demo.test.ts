import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../scanbridge/test/clamd-process.js';
import { freshGatewayDist } from './e2e/fresh-dist.js';
import { alive, commandLine, descendants, pgrep } from './e2e/processes.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const DURATION_S = 20;
/** The demo's own run plus starting npm, tsx and the embedded SpiceDB on a loaded machine. */
const WITHIN_MS = (DURATION_S + 60) * 1_000;

let child: ChildProcess | undefined;

// `npm start` runs the built command: built from the sources as they are now.
beforeAll(freshGatewayDist, 120_000);

afterAll(() => {
  // Its whole process group (npm, the shell, node and what node started), should the test have
  // failed before the demo ended by itself.
  if (child?.pid !== undefined && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

it(
  '`npm start -- --duration 20` runs the demo, prints its summary, exits 0 and leaves no process behind',
  async () => {
    const port = await freePort();
    const started = spawn(
      'npm',
      ['start', '--', '--duration', String(DURATION_S), '--port', String(port)],
      {
        cwd: ROOT,
        // A group of its own, so that afterAll can end everything it started at once.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = started;
    let out = '';
    started.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    started.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((done) => started.once('exit', (code) => done(code)));
    let code: number | null | undefined;
    void exited.then((value) => {
      code = value;
    });
    // Everything the run started, seen while it runs: the YARA process comes with the first
    // scan, so the tree is read until the end.
    const seen = new Map<number, string>();
    while (code === undefined) {
      for (const pid of descendants(started.pid as number))
        if (!seen.has(pid)) seen.set(pid, commandLine(pid));
      await new Promise((next) => setTimeout(next, 250));
    }
    await exited;

    expect(code, out).toBe(0);
    expect(out).toContain(`gateway     http://127.0.0.1:${port}`);
    expect(out).toContain(`Summary after ${DURATION_S}.`);
    expect(out).toMatch(
      /^breaker\s+calls\s+rejections\s+openings\s+fault->open ms\s+recovery->close ms$/m,
    );
    expect(out).toMatch(/^yara\s+\d+\s+\d+\s+\d+/m);
    // The first fault (SpiceDB hangs, at 5 s) opens SpiceDB's breaker, and the summary times it.
    const spicedb = /^spicedb\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+|-)/m.exec(out);
    expect(Number(spicedb?.[3])).toBeGreaterThanOrEqual(1);
    expect(spicedb?.[4]).toMatch(/^\d+$/);
    expect(out).toMatch(/^user\s+role\s+allowed\s+blocked\s+denied\s+failed$/m);
    const alice = /^alice\s+member\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(out);
    expect(Number(alice?.[1])).toBeGreaterThan(0);
    const mallory = /^mallory\s+none\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(out);
    expect(Number(mallory?.[1])).toBe(0);
    expect(Number(mallory?.[3])).toBeGreaterThan(0);

    // The processes it started: the SpiceDB server it named, the YARA scanning process.
    const spicedbPid = Number(/SpiceDB\s+embedded \(pid (\d+)\)/.exec(out)?.[1]);
    expect(seen.has(spicedbPid)).toBe(true);
    const yara = [...seen].filter(([, command]) => command.includes('yara-child'));
    expect(yara.length).toBeGreaterThanOrEqual(1);
    const left = [...seen.keys()].filter(alive);
    expect(left.map((pid) => `${pid} ${seen.get(pid)}`)).toEqual([]);
    const dir = /quarantine\s+(\/\S*breakwater-demo-[^/\s]+)\/quarantine/.exec(out)?.[1];
    expect(dir).toBeDefined();
    expect(await pgrep(dir as string)).toEqual([]);
    expect(existsSync(dir as string)).toBe(false);
    expect(out).toContain(`removed ${dir}.`);
  },
  WITHIN_MS,
);
