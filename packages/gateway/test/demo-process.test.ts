import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const RUN = new URL('../src/demo/run.ts', import.meta.url).href;
const NODE_ARGS = ['--import', import.meta.resolve('tsx'), '--conditions=breakwater-source', MAIN];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null)
      process.kill(-(child.pid as number), 'SIGKILL');
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const giveUp = performance.now() + withinMs;
  while (alive(pid)) {
    if (performance.now() > giveUp) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

describe('breakwater-gateway demo, as a process', () => {
  it('leaves nothing behind on Ctrl-C, even with the second SIGINT npm passes on while it stops', async () => {
    const child = spawn(
      process.execPath,
      [...NODE_ARGS, 'demo', '--port', '0', '--duration', '60'],
      {
        // A process group of its own, as a terminal's foreground job: Ctrl-C reaches all of it.
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    children.push(child);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const giveUp = performance.now() + 60_000;
    while (!out.includes('prints the summary.')) {
      if (performance.now() > giveUp || child.exitCode !== null) throw new Error(out);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pid = Number(/embedded \(pid (\d+)\)/.exec(out)?.[1]);
    const dir = /quarantine +(\/\S+)\/quarantine /.exec(out)?.[1] ?? '';
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(dir)).toBe(true);
    // Ctrl-C: the terminal signals the whole group (the SpiceDB server too), and npm passes
    // the signal on to its child once more, a moment later, while the demo is stopping.
    process.kill(-(child.pid as number), 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGINT');
    // Either it still stopped in order (0) or the second signal ended it at once (130).
    expect([0, 130]).toContain(await exited);
    expect(existsSync(dir)).toBe(false);
    expect(await gone(pid, 10_000)).toBe(true);
  }, 90_000);

  it('removes its directory even when the process exits before the teardown, and SpiceDB stops by itself', async () => {
    // The process ends the moment the banner is out, as a second Ctrl-C's exit does: no
    // teardown runs at all.
    const script = `
        const { runDemo } = await import(${JSON.stringify(RUN)});
        const { Writable } = await import('node:stream');
        let text = '';
        const out = new Writable({
          write(chunk, _encoding, done) {
            text += chunk;
            process.stdout.write(chunk);
            if (text.includes('prints the summary.')) process.exit(130);
            done();
          },
        });
        await runDemo({ host: '127.0.0.1', port: 0, traffic: false, durationSeconds: 60, out,
          signal: new AbortController().signal, clamd: ['/nonexistent/clamd.sock'] });
      `;
    const child = spawn(
      process.execPath,
      [...NODE_ARGS.slice(0, 3), '--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    children.push(child);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.resume();
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(130);
    const pid = Number(/embedded \(pid (\d+)\)/.exec(out)?.[1]);
    const dir = /quarantine +(\/\S+)\/quarantine /.exec(out)?.[1] ?? '';
    expect(pid, out).toBeGreaterThan(0);
    expect(dir, out).toMatch(/breakwater-demo-/);
    expect(existsSync(dir)).toBe(false);
    expect(await gone(pid, 10_000)).toBe(true);
  }, 60_000);
});
