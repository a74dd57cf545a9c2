import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { type ClientRequest, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const RUN = new URL('../src/demo/run.ts', import.meta.url).href;
const NODE_ARGS = ['--import', import.meta.resolve('tsx'), '--conditions=breakwater-source', MAIN];
const children: ChildProcess[] = [];
const uploads: ClientRequest[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  for (const upload of uploads.splice(0)) upload.destroy();
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null)
      process.kill(-(child.pid as number), 'SIGKILL');
  }
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
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

/** Every file under `dir` (relative), with its size; but tsx's cache, which runs the CLI here. */
async function files(dir: string): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = relative(dir, join(entry.parentPath, entry.name));
    if (!entry.isFile() || path.startsWith('tsx-')) continue;
    found.push({ path, size: (await stat(join(dir, path))).size });
  }
  return found;
}

async function until(
  what: string,
  done: () => boolean | Promise<boolean>,
  withinMs = 60_000,
): Promise<void> {
  const giveUp = performance.now() + withinMs;
  while (!(await done())) {
    if (performance.now() > giveUp) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `demo --no-traffic` in a process group of its own (a terminal's foreground job) with a
 * temporary directory of the test's own as TMPDIR, and an upload of 2 MiB as alice whose body
 * never ends (a slow client): once its bytes are spooled, the demo has an upload in flight.
 */
async function demoWithUploadInFlight() {
  const tmp = await mkdtemp(join(tmpdir(), 'demo-process-'));
  tempDirs.push(tmp);
  const child = spawn(
    process.execPath,
    [...NODE_ARGS, 'demo', '--port', '0', '--no-traffic', '--duration', '60'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, TMPDIR: tmp } },
  );
  children.push(child);
  const output = { text: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.text += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await until('the banner', () => {
    if (child.exitCode !== null) throw new Error(output.text);
    return output.text.includes('prints the summary.');
  });
  const url = /gateway +(http:\/\/\S+)/.exec(output.text)?.[1] ?? '';
  const token = /^ {2}alice +member +(\S+)/m.exec(output.text)?.[1] ?? '';
  const upload = request(`${url}/v1/tenants/demo/scans`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'x-filename': 'big.bin',
      'content-type': 'application/octet-stream',
    },
  });
  upload.on('error', () => {});
  uploads.push(upload);
  upload.write(Buffer.alloc(2 * 1024 * 1024, 'a'));
  await until('the upload spooled', async () =>
    (await files(tmp)).some((file) => file.size >= 1024 * 1024),
  );
  return { child, output, exited, tmp, upload };
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
    // The SpiceDB server stopping on the same Ctrl-C is an orderly stop, not an error.
    expect(out).not.toMatch(/error:/);
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

  it('on Ctrl-C with an upload in flight, SpiceDB stopping on the same Ctrl-C is no error', async () => {
    const { child, output, exited, tmp, upload } = await demoWithUploadInFlight();
    const pid = Number(/embedded \(pid (\d+)\)/.exec(output.text)?.[1]);
    process.kill(-(child.pid as number), 'SIGINT');
    await until('the stop', () => output.text.includes('Stopping...'));
    // The SpiceDB server got the same SIGINT and is gone before the teardown reaches it.
    expect(await gone(pid, 10_000)).toBe(true);
    upload.destroy();
    expect(await exited, output.text).toBe(0);
    expect(output.text).toContain('Summary after');
    expect(output.text).not.toMatch(/error:/);
    expect(await files(tmp)).toEqual([]);
  }, 90_000);

  it('closing the terminal (SIGHUP to the group) stops it in order and removes its directory', async () => {
    const child = spawn(
      process.execPath,
      [...NODE_ARGS, 'demo', '--port', '0', '--no-traffic', '--duration', '60'],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    children.push(child);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await until('the banner', () => {
      if (child.exitCode !== null) throw new Error(out);
      return out.includes('prints the summary.');
    });
    const pid = Number(/embedded \(pid (\d+)\)/.exec(out)?.[1]);
    const dir = /quarantine +(\/\S+)\/quarantine /.exec(out)?.[1] ?? '';
    expect(existsSync(dir)).toBe(true);
    process.kill(-(child.pid as number), 'SIGHUP');
    expect(await exited, out).toBe(0);
    expect(out).toContain('Summary after');
    expect(out).not.toMatch(/error:/);
    expect(existsSync(dir)).toBe(false);
    expect(await gone(pid, 10_000)).toBe(true);
  }, 90_000);
  it('a second Ctrl-C while an upload is in flight quits at once and leaves none of its bytes behind', async () => {
    const { child, output, exited, tmp } = await demoWithUploadInFlight();
    process.kill(-(child.pid as number), 'SIGINT');
    await until(
      'the waiting line',
      () =>
        output.text.includes(
          'stopping: waiting for 1 upload in flight (Ctrl-C again, a second from now or later, to quit at once)',
        ),
      15_000,
    );
    // A person pressing Ctrl-C again, not npm's relayed copy of the first.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    process.kill(-(child.pid as number), 'SIGINT');
    expect(await exited, output.text).toBe(130);
    expect(await files(tmp)).toEqual([]);
  }, 90_000);
});
