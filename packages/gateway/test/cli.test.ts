import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const GATEWAY = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(GATEWAY, 'src', 'cli', 'main.ts');
// The bin from its TypeScript sources, the way the workspace runs them.
const NODE_ARGS = ['--import', import.meta.resolve('tsx'), '--conditions=breakwater-source', MAIN];
const started = new Set<ChildProcess>();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gateway-cli-'));
});

afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly child: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

interface RunOptions {
  readonly stdin?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

function start(args: string[], options: RunOptions = {}): Run {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: options.cwd ?? dir,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.on('close', (code, signal) => done({ code, signal }));
  });
  return { child, exit, stdout: () => stdout, stderr: () => stderr };
}

async function run(args: string[], options: RunOptions = {}) {
  const running = start(args, { stdin: '', ...options });
  const { code } = await running.exit;
  return { code, stdout: running.stdout(), stderr: running.stderr() };
}

function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((done, fail) => {
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll);
        done();
      } else if (Date.now() > deadline) {
        clearInterval(poll);
        fail(new Error(`timed out waiting for ${what}`));
      }
    }, 20);
  });
}

describe('breakwater-gateway hash-token', () => {
  it('prints the sha256 of the token read from stdin, without its line break', async () => {
    const token = 'tok_4f9a2c81e0b7d6';
    const expected = createHash('sha256').update(token).digest('hex');
    for (const stdin of [token, `${token}\n`, `${token}\r\n`]) {
      const { code, stdout, stderr } = await run(['hash-token'], { stdin });
      expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: `${expected}\n`, stderr: '' });
    }
  });

  it('refuses an empty stdin, and a token no header could carry, without showing it', async () => {
    const empty = await run(['hash-token'], { stdin: '\n' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe(
      'breakwater-gateway: hash-token: no token on stdin (try: printf %s "$TOKEN" | breakwater-gateway hash-token); see breakwater-gateway --help\n',
    );
    const spaced = await run(['hash-token'], { stdin: 'two words-secret\n' });
    expect(spaced.code).toBe(2);
    expect(spaced.stderr).toContain('could not be sent in an Authorization header');
    expect(spaced.stderr).not.toContain('words-secret');
    expect(spaced.stdout).toBe('');
  });
});

describe('breakwater-gateway', () => {
  it('prints its version and its help', async () => {
    const version = await run(['--version']);
    expect(version).toEqual({ code: 0, stdout: 'breakwater-gateway 0.1.0\n', stderr: '' });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'demo', 'hash-token', '--config', '--no-traffic']) {
      expect(help.stdout).toContain(command);
    }
  });

  it('exits 2 with one line on a usage error', async () => {
    const { code, stdout, stderr } = await run(['serve', '--prot', '8080']);
    expect({ code, stdout, stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'breakwater-gateway: unknown option --prot (did you mean --port?); see breakwater-gateway --help\n',
    });
  });

  it('exits 78 with every issue of the configuration', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, JSON.stringify({ port: 'eighty', limits: { maxFiles: 0 }, bogus: 1 }));
    const { code, stdout, stderr } = await run(['--config', 'broken.json']);
    expect(code).toBe(78);
    expect(stdout).toBe('');
    expect(stderr.split('\n')).toEqual([
      `${file}: bogus: unknown option; the options here are host, port, limits, spicedb, engines, scan, policy, quarantine, tokens, dashboard, metrics`,
      `${file}: port: must be an integer from 0 to 65535, got "eighty"`,
      `${file}: limits.maxFiles: must be an integer >= 1, got 0`,
      'breakwater-gateway: 3 problems in the configuration; nothing was started',
      '',
    ]);
  });

  it('names the file, line and column of a JSON syntax error, and exits 78', async () => {
    const file = join(dir, 'syntax.json');
    writeFileSync(file, '{\n  "port": 8080\n  "host": "127.0.0.1"\n}\n');
    const { code, stderr } = await run(['--config', file]);
    expect(code).toBe(78);
    expect(stderr.split('\n')[0]).toBe(
      `${file}:3:3: not valid JSON: Expected ',' or '}' after property value`,
    );
  });

  // SIGHUP too: a closed terminal must not end it without its teardown (spooled uploads stay).
  it.each(['SIGTERM', 'SIGHUP'] as const)(
    'serves with the flags over the file, prints where, and stops cleanly on %s',
    async (signal) => {
      // The file's port is taken (by nothing that matters: the flag wins) and its SpiceDB remote;
      // the flags put the gateway on a free port and SpiceDB on loopback, so no key is needed.
      const home = mkdtempSync(join(dir, 'serve-'));
      const file = join(home, 'serve.json');
      writeFileSync(
        file,
        JSON.stringify({ port: 1, spicedb: { endpoint: 'spicedb.example.com:50051' } }),
      );
      const gateway = start(
        ['serve', '--config', 'serve.json', '--port', '0', '--spicedb', '127.0.0.1:1'],
        {
          cwd: home,
        },
      );
      await until(() => gateway.stdout().includes('\n'), 'the listening line');
      const line = gateway.stdout();
      expect(line).toMatch(/^breakwater-gateway listening on http:\/\/127\.0\.0\.1:\d+\n$/);
      const url = line.trim().split(' ').at(-1) as string;
      expect(url).not.toMatch(/:1$/);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      gateway.child.kill(signal);
      expect(await gateway.exit).toEqual({ code: 0, signal: null });
      expect(gateway.stdout()).toBe(line);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      // Nothing was uploaded, so nothing was written beside the configuration.
      expect(readdirSync(home)).toEqual(['serve.json']);
    },
  );
});

describe('breakwater-gateway serve, its terminal gone', () => {
  it('still closes in order on SIGHUP when every write fails (EPIPE here, EIO on a closed tty)', async () => {
    const gateway = start(['serve', '--port', '0', '--spicedb', '127.0.0.1:1']);
    await until(() => gateway.stdout().includes('\n'), 'the listening line');
    // What a closed terminal does to the process: nobody reads what it writes any more.
    gateway.child.stdout?.destroy();
    gateway.child.stderr?.destroy();
    gateway.child.kill('SIGHUP');
    expect(await gateway.exit).toEqual({ code: 0, signal: null });
  });

  it('ends, not 0, when its log goes away while it serves: no serving without an audit trail', async () => {
    const gateway = start(['serve', '--port', '0', '--spicedb', '127.0.0.1:1']);
    await until(() => gateway.stdout().includes('\n'), 'the listening line');
    const url = gateway.stdout().trim().split(' ').at(-1) as string;
    gateway.child.stdout?.destroy();
    gateway.child.stderr?.destroy();
    // A refused upload is audited: that line cannot be written any more.
    await fetch(`${url}/v1/tenants/acme/scans`, {
      method: 'POST',
      headers: { 'x-filename': 'a.txt' },
      body: 'x',
    }).catch(() => undefined);
    expect(await gateway.exit).toEqual({ code: 1, signal: null });
  });
});

describe('breakwater-gateway demo', () => {
  function spiceDbPid(output: string): number {
    const pid = /embedded \(pid (\d+)\)/.exec(output)?.[1];
    if (pid === undefined) throw new Error(`no SpiceDB pid in:\n${output}`);
    return Number(pid);
  }

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  it('ends on SIGINT with its summary, exit 0, leaving no SpiceDB behind', async () => {
    const demo = start(['demo', '--no-traffic', '--port', '0']);
    await until(() => demo.stdout().includes('Ctrl-C'), 'the demo to be up', 30_000);
    const pid = spiceDbPid(demo.stdout());
    expect(alive(pid)).toBe(true);
    demo.child.kill('SIGINT');
    expect(await demo.exit).toEqual({ code: 0, signal: null });
    expect(demo.stdout()).toContain('Summary after');
    expect(alive(pid)).toBe(false);
  }, 45_000);

  it('stops by itself after --duration', async () => {
    const { code, stdout } = await run(['demo', '--no-traffic', '--port', '0', '--duration', '1']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Summary after \d+(\.\d)? s/);
    expect(alive(spiceDbPid(stdout))).toBe(false);
  }, 45_000);
});
