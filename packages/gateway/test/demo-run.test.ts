import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clamd, startClamd } from '../../scanbridge/test/clamd-process.js';
import { runDemo } from '../src/demo/run.js';

/** What the demo printed, as it prints it. */
class Terminal extends Writable {
  text = '';

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }

  async until(wanted: string, withinMs = 60_000): Promise<void> {
    const giveUp = performance.now() + withinMs;
    while (!this.text.includes(wanted)) {
      if (performance.now() > giveUp) throw new Error(`never printed ${wanted}:\n${this.text}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** A summary row's cells, by the row's first cell. */
function row(text: string, first: string): string[] {
  const line = text.split('\n').find((l) => l.startsWith(`${first} `));
  if (line === undefined) throw new Error(`no summary row for ${first} in:\n${text}`);
  return line.trim().split(/ {2,}/);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether something still listens at `host:port`. */
function listening(endpoint: string): Promise<boolean> {
  const at = endpoint.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect(Number(endpoint.slice(at + 1)), endpoint.slice(0, at));
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The pid, endpoints and temporary directory the banner and the last line name. */
function started(text: string): { pid: number; endpoints: string[]; dir: string } {
  const pid = Number(/embedded \(pid (\d+)\)/.exec(text)?.[1]);
  const endpoints = [...text.matchAll(/(?:at |gateway +http:\/\/)(127\.0\.0\.1:\d+)/g)].map(
    (match) => match[1] as string,
  );
  const dir = /removed (\/\S+)\.$/m.exec(text)?.[1] ?? '';
  return { pid, endpoints, dir };
}

/** The banner's "Try it" commands, each under its comment, as a person would paste them. */
function tryIt(text: string): Map<string, string> {
  const block = text.slice(text.indexOf('Try it:\n') + 'Try it:\n'.length).split('\n\n')[0] ?? '';
  const commands = new Map<string, string>();
  let comment = '';
  for (const line of block.split('\n')) {
    if (line.trimStart().startsWith('# ')) comment = line.trim().slice(2);
    else commands.set(comment, `${commands.get(comment) ?? ''}${line.trim()}\n`);
  }
  return commands;
}

/** What bash prints for `script`, pasted as it is. */
async function pasted(script: string): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)('bash', ['-c', script]);
  expect(stderr, script).toBe('');
  return stdout;
}

let clamd: Clamd | undefined;

beforeAll(async () => {
  clamd = await startClamd();
}, 60_000);

afterAll(async () => {
  await clamd?.stop();
});

describe('npm start, in-process', () => {
  it('runs traffic and a SpiceDB hang: its breaker opens and closes again, alice uploads, mallory and (while it is down) nina are denied; then nothing is left', async () => {
    const out = new Terminal();
    const code = await runDemo({
      host: '127.0.0.1',
      port: 0,
      traffic: true,
      durationSeconds: 12,
      out,
      signal: new AbortController().signal,
      phases: { firstFaultMs: 2_000, faultMs: 4_000 },
      clamd: [(clamd as Clamd).socketPath],
    });
    const text = out.text;
    expect(code, text).toBe(0);
    expect(text).toContain(`clamd: found at ${(clamd as Clamd).socketPath}`);
    expect(text).toMatch(/\[ {2}2\.\ds\] fault 1: SpiceDB hangs/);
    expect(text).toMatch(/\] breaker spicedb: closed -> open \(failure_threshold\)/);
    expect(text).toMatch(/\[ {2}6\.\ds\] recovery 1: SpiceDB is back to normal/);
    expect(text).toMatch(/\] breaker spicedb: half_open -> closed \(probes_succeeded\)/);
    expect(text).not.toMatch(/^.*error:/m);

    const [, , , openings, toOpen, toClose] = row(text, 'spicedb');
    expect(Number(openings)).toBeGreaterThanOrEqual(1);
    // Measured, not '-': from the fault's start to the opening, the recovery's to the close.
    expect(Number(toOpen)).toBeGreaterThan(0);
    expect(Number(toClose)).toBeGreaterThan(0);
    // Both engines scanned: YARA always, clamd (found) behind its proxy.
    expect(Number(row(text, 'yara')[1])).toBeGreaterThan(0);
    expect(Number(row(text, 'clamav')[1])).toBeGreaterThan(0);
    const [, role, allowed, , denied] = row(text, 'alice');
    expect(role).toBe('member');
    expect(Number(allowed)).toBeGreaterThan(0);
    expect(Number(denied)).toBe(0);
    const [, malloryRole, malloryAllowed, malloryBlocked, malloryDenied] = row(text, 'mallory');
    expect([malloryRole, malloryAllowed, malloryBlocked]).toEqual(['none', '0', '0']);
    expect(Number(malloryDenied)).toBeGreaterThan(0);
    // During the hang the fallback answered: alice and rita (allowed more than the demo's 2 s of
    // freshness ago) from cached decisions, nina (never seen) with a deny.
    const checks = /the fallback allowed (\d+) from cached decisions and denied (\d+)/.exec(text);
    expect(Number(checks?.[1]), text).toBeGreaterThan(0);
    expect(Number(checks?.[2]), text).toBeGreaterThan(0);
    const [, ninaRole, ninaAllowed, , ninaDenied] = row(text, 'nina');
    expect(ninaRole).toBe('member');
    expect(Number(ninaDenied)).toBeGreaterThan(0);
    // She uploads once SpiceDB is back: the denies were the fallback's, not her role.
    expect(Number(ninaAllowed)).toBeGreaterThan(0);

    const { pid, endpoints, dir } = started(text);
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    expect(dir).toMatch(/breakwater-demo-/);
    expect(existsSync(dir)).toBe(false);
    // The gateway, SpiceDB and both fault proxies.
    expect(endpoints.length).toBeGreaterThanOrEqual(4);
    for (const endpoint of endpoints) expect(await listening(endpoint), endpoint).toBe(false);
  }, 90_000);

  it('ends on its signal with the summary, serving only under --no-traffic', async () => {
    const out = new Terminal();
    const stop = new AbortController();
    const running = runDemo({
      host: '127.0.0.1',
      port: 0,
      traffic: false,
      durationSeconds: undefined,
      out,
      signal: stop.signal,
      clamd: ['/nonexistent/clamd.sock'],
    });
    await out.until('Ctrl-C stops it');
    expect(out.text).toContain('Serving only (--no-traffic): no traffic, no faults.');
    expect(out.text).toContain(
      'clamd: not found at /nonexistent/clamd.sock — scanning with YARA only',
    );
    // Every command the banner prints, pasted into bash in order, does what its comment says.
    const commands = [...tryIt(out.text).entries()];
    expect(commands.map(([comment]) => comment.split(/[,:]/)[0])).toEqual([
      'upload a file as alice',
      'the EICAR test file',
      'the same upload as mallory',
      'a page with script',
      'the quarantine',
      'release a quarantined file',
      "clamav-rest-api's endpoint",
    ]);
    const answers = [];
    for (const [, script] of commands) answers.push(await pasted(script));
    const [hello, eicar, mallory, page, list, released, clamavRest] = answers as string[];
    expect(JSON.parse(hello as string).files[0].decision).toBe('allow');
    expect(JSON.parse(eicar as string).files[0].decision).toBe('quarantine');
    expect(JSON.parse(mallory as string).error.message).toContain('scan');
    expect(JSON.parse(page as string).files[0].quarantineId).toMatch(/\S/);
    expect(JSON.parse(list as string).items).toHaveLength(2);
    // The first in the list came back: EICAR or the page.
    expect(released).toMatch(/EICAR-STANDARD-ANTIVIRUS-TEST-FILE|<script>/);
    expect(JSON.parse(clamavRest as string).success).toBe(true);
    stop.abort();
    expect(await running).toBe(0);
    expect(out.text).toContain('Summary after');
    expect(out.text).not.toContain('fault 1');
    expect(row(out.text, 'alice').slice(2)).toEqual(['0', '0', '0', '0']);
    const { pid, dir } = started(out.text);
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  }, 60_000);

  it('says a port in use is in use, names --port, and starts nothing', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    const out = new Terminal();
    try {
      const code = await runDemo({
        host: '127.0.0.1',
        port,
        traffic: true,
        durationSeconds: 5,
        out,
        signal: new AbortController().signal,
      });
      expect(code).toBe(1);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    expect(out.text).toBe(
      `breakwater-gateway demo: could not start the gateway on 127.0.0.1:${port}: port ${port} on 127.0.0.1 is in use: stop what listens there, or pick another port with --port <n>\n`,
    );
  });

  it('fails to start the gateway after SpiceDB is up, says why, and stops SpiceDB and removes its directory', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    await new Promise((resolve) => holder.close(resolve));
    const out = new Terminal();
    const pids: number[] = [];
    const logger = {
      info(fields: Record<string, unknown>) {
        if (typeof fields.pid === 'number') pids.push(fields.pid);
      },
      warn() {},
      error() {},
    };
    // Taken while SpiceDB starts, after the demo found it free: the gateway's own listen fails.
    const taken = out
      .until('Starting the embedded SpiceDB')
      .then(() => new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve)));
    try {
      const code = await runDemo({
        host: '127.0.0.1',
        port,
        traffic: true,
        durationSeconds: 5,
        out,
        signal: new AbortController().signal,
        clamd: ['/nonexistent/clamd.sock'],
        logger,
      });
      await taken;
      expect(code, out.text).toBe(1);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    expect(out.text).toContain(
      `breakwater-gateway demo: could not start the gateway on 127.0.0.1:${port}: port ${port} on 127.0.0.1 is in use: stop what listens there, or pick another port with --port <n>\n`,
    );
    const dir = /Stopped what had started; removed (\/\S+)\.$/m.exec(out.text)?.[1] ?? '';
    expect(dir).toMatch(/breakwater-demo-/);
    expect(existsSync(dir)).toBe(false);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 60_000);

  it('stops at once when its signal comes while SpiceDB is still starting', async () => {
    const out = new Terminal();
    const stop = new AbortController();
    void out.until('Starting the embedded SpiceDB').then(() => stop.abort());
    const code = await runDemo({
      host: '127.0.0.1',
      port: 0,
      traffic: true,
      durationSeconds: 5,
      out,
      signal: stop.signal,
    });
    expect(code).toBe(0);
    expect(out.text).toContain('Stopping before the demo was up...');
    expect(out.text).not.toContain('Breakwater gateway demo');
    const dir = /Stopped what had started; removed (\/\S+)\.$/m.exec(out.text)?.[1] ?? '';
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses options it does not know and values out of range, by name', async () => {
    const base = {
      host: '127.0.0.1',
      port: 0,
      traffic: true,
      durationSeconds: 1,
      out: new Terminal(),
      signal: new AbortController().signal,
    };
    await expect(runDemo({ ...base, port: 70_000 })).rejects.toThrow(
      'runDemo: option "port" must be an integer <= 65535, got 70000',
    );
    await expect(runDemo({ ...base, durationSeconds: 0 })).rejects.toThrow(
      'runDemo: option "durationSeconds" must be a finite number of seconds > 0, got 0',
    );
    await expect(runDemo({ ...base, colour: true } as never)).rejects.toThrow(
      'runDemo: unknown option "colour"',
    );
  });
});
