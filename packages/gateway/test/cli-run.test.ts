import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo, StopSignal } from '../src/cli/io.js';
import { runCli } from '../src/cli/run.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-cli-run-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The process's side of the command line, kept: what it wrote, its signals, its exits. */
function testIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const listeners = new Set<(signal: StopSignal) => void>();
  const asked: (readonly StopSignal[])[] = [];
  const exits: number[] = [];
  const clock = { ms: 0 };
  const io: CliIo = {
    stdout,
    stderr,
    stdin: Readable.from([]),
    env: {},
    cwd: dir,
    onStopSignal(listener, signals) {
      asked.push(signals);
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    exitNow(code) {
      exits.push(code);
    },
    now: () => clock.ms,
  };
  return {
    io,
    exits,
    clock,
    asked,
    listeners,
    stdout: () => out,
    stderr: () => err,
    signal(name: StopSignal) {
      for (const listener of [...listeners]) listener(name);
    },
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 15_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 10));
  }
}

describe('runCli serve', () => {
  it('closes on the first signal, ignores a relayed copy, exits at once with 130 on a later one', async () => {
    const cli = testIo();
    const result = runCli(['--port', '0', '--spicedb', '127.0.0.1:1'], cli.io);
    await until(() => cli.stdout().includes('\n'), 'the listening line');
    const url = cli.stdout().trim().split(' ').at(-1) as string;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // The gateway's own log goes to the command's stderr, as JSON lines.
    expect(cli.stderr()).toMatch(/^\{"level":\d+,/m);
    expect(cli.asked).toEqual([['SIGINT', 'SIGTERM', 'SIGHUP']]);
    cli.signal('SIGINT');
    expect(cli.exits).toEqual([]);
    // npm relays the terminal's SIGINT a few ms after the process group got it.
    cli.clock.ms += 40;
    cli.signal('SIGINT');
    expect(cli.exits).toEqual([]);
    cli.clock.ms += 1_000;
    cli.signal('SIGTERM');
    expect(cli.exits).toEqual([130]);
    // Here exitNow did not end the process, so the close goes on to its end.
    expect(await result).toBe(0);
    expect(cli.listeners.size).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('closes cleanly when the signal comes while it is still starting', async () => {
    const cli = testIo();
    const result = runCli(['--port', '0', '--spicedb', '127.0.0.1:1'], cli.io);
    await until(() => cli.listeners.size > 0, 'the signal handler');
    cli.signal('SIGTERM');
    expect(await result).toBe(0);
    // It still started (and said so) before it closed.
    expect(cli.stdout()).toMatch(/^breakwater-gateway listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    const url = cli.stdout().trim().split(' ').at(-1) as string;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(cli.exits).toEqual([]);
  });

  it('says a port is in use and names --port, exit 1', async () => {
    const taken: Server = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const port = (taken.address() as { port: number }).port;
    try {
      const cli = testIo();
      expect(await runCli(['--port', String(port), '--spicedb', '127.0.0.1:1'], cli.io)).toBe(1);
      expect(cli.stderr()).toContain(
        `breakwater-gateway: cannot listen on 127.0.0.1:${port}: the port is in use; choose another with --port (or "port" in the configuration)\n`,
      );
      expect(cli.stdout()).toBe('');
    } finally {
      await new Promise((done) => taken.close(done));
    }
  });

  it('exits 78 when the server refuses rules that do not compile', async () => {
    const file = join(dir, 'bad-rules.json');
    writeFileSync(
      file,
      JSON.stringify({ engines: [{ type: 'yara', rules: 'rule x { condition: nope }' }] }),
    );
    const cli = testIo();
    expect(
      await runCli(['--config', file, '--port', '0', '--spicedb', '127.0.0.1:1'], cli.io),
    ).toBe(78);
    expect(cli.stderr()).toMatch(/breakwater-gateway: cannot start: .*do not compile/);
    expect(cli.stderr()).toContain('rules:1:21');
  });
});
