import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { freePort, useClamd } from './clamd.js';
import { useCliProcess } from './cli-process.js';
import { EICAR, EICAR_SHA256, tempDirs } from './helpers.js';
import { fakeVerdict, useFakeVirusTotal } from './virustotal-fake.js';

const clamd = useClamd();

const tempDir = tempDirs();

/** Runs the command line in-process, capturing what it writes. */
async function cli(
  argv: string[],
  options: { env?: Record<string, string>; tty?: boolean; columns?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: {
      write: (text: string) => (stderr += text),
      isTTY: options.tty,
      columns: options.columns ?? 60,
    },
    env: options.env ?? {},
  });
  return { code, stdout, stderr };
}

/** EICAR, a clean file, an empty one, a link to each of a file and a directory, two levels deep. */
async function sampleTree(): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'inbox'));
  await writeFile(join(dir, 'inbox', 'eicar.com'), EICAR);
  await writeFile(join(dir, 'inbox', 'empty.txt'), '');
  await writeFile(join(dir, 'report.txt'), 'quarterly report');
  await symlink(join(dir, 'report.txt'), join(dir, 'link.txt'));
  await symlink(join(dir, 'inbox'), join(dir, 'inbox-link'));
  return dir;
}

const tcp = () => `127.0.0.1:${clamd().port}`;

describe('scanbridge scan against a real clamd', () => {
  it('scans a tree, prints a verdict table and the decisions, and exits 1 on a block', async () => {
    const dir = await sampleTree();
    const { code, stdout, stderr } = await cli(['scan', dir, '--clamav', tcp()]);
    expect(code).toBe(1);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^FILE\s+VERDICT\s+DECISION\s+DETAIL$/);
    expect(stdout).toMatch(
      /inbox\/eicar\.com\s+infected\s+block \(block-infected\)\s+Eicar-Test-Signature\S* \(clamav\)/,
    );
    expect(stdout).toMatch(/inbox\/empty\.txt\s+skipped\s+-\s+empty file, nothing to scan/);
    expect(stdout).toMatch(/inbox-link\s+skipped\s+-\s+link to a directory, not followed/);
    // A link to a file is scanned once, under the first name met: report.txt is link.txt.
    expect(stdout).toMatch(/link\.txt\s+clean\s+allow \(allow-clean\)\s+clamav: clean/);
    expect(stdout).not.toContain('report.txt');
    expect(stdout).toContain('4 files: 1 allowed, 1 flagged, 0 errors, 2 skipped');
    expect(stdout).toContain('breakers: clamav closed');
    // Not a terminal: one plain progress line per file, on stderr.
    expect(stderr).toContain(`scanbridge: 4 files with clamd at ${tcp()}`);
    expect(stderr.match(/^\[\d\/4\] .+: \w+$/gm)).toHaveLength(4);
  });

  it('exits 0 when every file is allowed, over the unix socket too', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'alpha');
    await writeFile(join(dir, 'b.txt'), 'beta');
    const { code, stdout } = await cli(['scan', dir, '--clamav', clamd().socketPath]);
    expect(code).toBe(0);
    expect(stdout).toContain('2 files: 2 allowed, 0 flagged, 0 errors, 0 skipped');
  });

  it('writes one JSON document with --json', async () => {
    const dir = await sampleTree();
    const { code, stdout } = await cli(['scan', join(dir, 'inbox'), '--clamav', tcp(), '--json']);
    expect(code).toBe(1);
    const json = JSON.parse(stdout);
    expect(json.exitCode).toBe(1);
    expect(json.breakers).toEqual({ clamav: 'closed' });
    expect(json.files).toEqual([
      expect.objectContaining({
        path: join(dir, 'inbox', 'eicar.com'),
        status: 'scanned',
        sha256: EICAR_SHA256,
        verdict: 'infected',
        outcome: expect.objectContaining({ type: 'infected' }),
        unscannedBy: [],
        decision: expect.objectContaining({
          action: { type: 'block', reason: 'malware detected' },
        }),
      }),
      {
        path: join(dir, 'inbox', 'empty.txt'),
        status: 'skipped',
        verdict: 'skipped',
        reason: 'empty file, nothing to scan',
        unchecked: false,
      },
    ]);
  });

  it('draws a progress bar on a terminal and clears it before the table', async () => {
    const dir = await sampleTree();
    const { stderr } = await cli(['scan', dir, '--clamav', tcp()], { tty: true });
    expect(stderr).toContain('\r\u001b[2K[#####---------------] 1/4 ');
    expect(stderr).toContain('[####################] 4/4 ');
    expect(stderr.endsWith('\r\u001b[2K')).toBe(true);
  });

  it('keeps the bar on one line of a narrow terminal', async () => {
    const dir = await sampleTree();
    for (const columns of [8, 16, 30]) {
      const { stderr } = await cli(['scan', dir, '--clamav', tcp()], { tty: true, columns });
      const drawn = stderr.split('\r\u001b[2K').slice(1, -1);
      expect(drawn).toHaveLength(4);
      for (const line of drawn) expect(line.length).toBeLessThan(columns);
    }
  });

  it('scans a file named twice once, and calls a run that scanned nothing incomplete', async () => {
    const dir = await sampleTree();
    const eicar = join(dir, 'inbox', 'eicar.com');
    const twice = await cli(['scan', eicar, eicar, join(dir, 'inbox'), '--clamav', tcp()]);
    expect(twice.stdout).toContain('2 files: 0 allowed, 1 flagged, 0 errors, 1 skipped');
    const empty = await tempDir();
    const nothing = await cli(['scan', empty, join(dir, 'inbox', 'empty.txt'), '--clamav', tcp()]);
    expect(nothing.code).toBe(2);
    expect(nothing.stdout).toContain('1 file: 0 allowed, 0 flagged, 0 errors, 1 skipped\n');
    expect(nothing.stdout).toContain('\nexit 2: nothing was scanned\n');
  });

  it('applies a policy file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'report.txt'), 'quarterly report');
    const policy = join(dir, 'policy.json');
    await writeFile(
      policy,
      JSON.stringify({ defaultAction: { type: 'block', reason: 'nothing is allowed' }, rules: [] }),
    );
    const { code, stdout } = await cli([
      'scan',
      join(dir, 'report.txt'),
      '--clamav',
      tcp(),
      '--policy',
      policy,
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/report\.txt\s+clean\s+block\s/);
  });

  it('escapes control characters in file names', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'evil\u001b[2Jname.txt'), 'harmless');
    await writeFile(join(dir, 'invoice\u202egpj.exe'), 'harmless');
    const { stdout, stderr } = await cli(['scan', dir, '--clamav', tcp()]);
    expect(stdout).toContain('evil\\x1b[2Jname.txt');
    expect(stdout).toContain('invoice\\u202egpj.exe');
    expect(`${stdout}${stderr}`).not.toContain('\u001b[2J');
    expect(`${stdout}${stderr}`).not.toContain('\u202e');
  });
});

describe('scanbridge scan when engines are missing or down', () => {
  it('uses the clamd in $SCANBRIDGE_CLAMAV when no engine is named', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'eicar.com'), EICAR);
    const { code, stdout } = await cli(['scan', dir], {
      env: { SCANBRIDGE_CLAMAV: clamd().socketPath },
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/eicar\.com\s+infected/);
  });

  it('says no engine is configured, and reports nothing clean, when no clamd answers', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'report.txt'), 'quarterly report');
    const dead = join(dir, 'no-clamd.sock');
    const { code, stdout, stderr } = await cli(['scan', dir], { env: { SCANBRIDGE_CLAMAV: dead } });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`scanbridge: SCANBRIDGE_CLAMAV=${dead}: no clamd answered there`);
  });

  it('fails closed with exit 2 when clamd is down, and the breaker opens after 3 failures', async () => {
    const dir = await tempDir();
    for (const name of ['a', 'b', 'c', 'd', 'e']) await writeFile(join(dir, `${name}.txt`), name);
    const port = await freePort();
    const { code, stdout } = await cli([
      'scan',
      dir,
      '--clamav',
      `127.0.0.1:${port}`,
      '--concurrency',
      '1',
    ]);
    expect(code).toBe(2);
    expect(stdout.match(/\s+error\s+-\s+connection_failed:/g)).toHaveLength(3);
    expect(stdout.match(/\s+error\s+-\s+circuit_open:/g)).toHaveLength(2);
    expect(stdout).toContain('5 files: 0 allowed, 0 flagged, 5 errors, 0 skipped');
    expect(stdout).toContain('breakers: clamav open');
  });

  it('with --fail-open, leaves unscanned files to the policy, which sends them to review', async () => {
    // The breaker says once per run, on the console, that it lets unchecked work through.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    onTestFinished(() => warn.mockRestore());
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'alpha');
    const port = await freePort();
    const { code, stdout } = await cli([
      'scan',
      dir,
      '--clamav',
      `127.0.0.1:${port}`,
      '--fail-open',
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /a\.txt\s+unscanned\s+require_review \(failopen-review\)\s+clamav-failopen: not scanned \(fail-open\)/,
    );
    // Even a policy that allows everything cannot make an unscanned file pass the run.
    const policy = join(dir, 'allow-all.json');
    await writeFile(policy, JSON.stringify({ defaultAction: { type: 'allow' }, rules: [] }));
    const argv = ['scan', join(dir, 'a.txt'), '--clamav', `127.0.0.1:${port}`, '--fail-open'];
    const json = await cli([...argv, '--policy', policy, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).files[0]).toMatchObject({
      verdict: 'unscanned',
      outcome: { type: 'clean' },
      unscannedBy: ['clamav-failopen'],
      decision: { action: { type: 'allow' } },
    });
    // In-process, both runs share one console: each run's breaker warned once.
    expect(warn.mock.calls).toEqual([
      ['circuit breaker "clamav" is failing open: callers get synthetic results'],
      ['circuit breaker "clamav" is failing open: callers get synthetic results'],
    ]);
  });
});

describe('scanbridge scan with VirusTotal (loopback fake)', () => {
  const KEY = 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed';
  const fake = useFakeVirusTotal(KEY);

  it('asks both engines, and never prints the key', async () => {
    fake().files.set(EICAR_SHA256, fakeVerdict(Buffer.from(EICAR)));
    const dir = await tempDir();
    await writeFile(join(dir, 'eicar.com'), EICAR);
    const argv = ['scan', dir, '--clamav', tcp(), '--virustotal-key-env', 'VT_KEY'];
    const good = await cli([...argv, '--virustotal-url', fake().baseUrl], { env: { VT_KEY: KEY } });
    expect(good.code).toBe(1);
    expect(good.stdout).toMatch(/EICAR-Test-File \(virustotal\)/);
    expect(good.stdout).toMatch(/Eicar-Test-Signature\S* \(clamav\)/);
    expect(good.stdout).toContain('breakers: clamav closed, virustotal closed');

    const wrongKey = KEY.replace('f00d', 'beef');
    const bad = await cli([...argv, '--virustotal-url', fake().baseUrl], {
      env: { VT_KEY: wrongKey },
    });
    // clamd's find still blocks the file (infected outranks the other engine's failure), but
    // an engine failed: the run is incomplete, and the last line says so.
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(
      /eicar\.com\s+infected\s+block.*Eicar-Test-Signature\S* \(clamav\); virustotal: authentication_failed/,
    );
    expect(bad.stdout).toContain('\nexit 2: an engine failed on 1 file; 1 file blocked\n');
    expect(`${good.stdout}${good.stderr}${bad.stdout}${bad.stderr}`).not.toMatch(
      /f00dfeed|beeffeed/,
    );
  });

  it('refuses a key variable that is not set', async () => {
    const { code, stderr } = await cli(['scan', '.', '--virustotal-key-env', 'NOPE']);
    expect(code).toBe(2);
    expect(stderr).toContain('the environment variable NOPE is not set');
  });
});

describe('scanbridge health', () => {
  it('pings each engine and prints its breaker', async () => {
    const up = await cli(['health', '--clamav', tcp()]);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/^clamav\s+up\s+closed\s+clamd at 127\.0\.0\.1:\d+$/m);
    const port = await freePort();
    const down = await cli(['health', '--clamav', `127.0.0.1:${port}`, '--json']);
    expect(down.code).toBe(2);
    expect(JSON.parse(down.stdout).engines).toEqual([
      expect.objectContaining({
        engine: 'clamav',
        status: 'down',
        // Pinged up to the failure threshold, as a scan would: a dead engine's breaker opens.
        breaker: 'open',
        error: expect.objectContaining({ kind: 'connection_failed' }),
      }),
    ]);
  });
});

describe('scanbridge usage', () => {
  it('prints help, and exits 2 with a clear message on bad usage', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('scanbridge scan <files or directories...>');
    const cases: [string[], string][] = [
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['scan'], 'scan needs at least one file or directory'],
      [['scan', 'x', '--colour'], "Unknown option '--colour'"],
      [['scan', 'x', '--concurrency', '0'], '--concurrency must be a whole number from 1 to 64'],
      [['health', 'x'], 'health takes no files'],
      [
        ['scan', '/nonexistent/file', '--clamav', '127.0.0.1:1'],
        'cannot read /nonexistent/file: no such file (ENOENT)',
      ],
      [
        ['scan', 'x', '--clamav', '127.0.0.1:99999'],
        '--clamav "127.0.0.1:99999": the port must be 1 to 65535, got 99999',
      ],
      [
        ['scan', 'x', '--virustotal-upload', '--clamav', '127.0.0.1:1'],
        'need --virustotal-key-env',
      ],
    ];
    for (const [argv, message] of cases) {
      const { code, stdout, stderr } = await cli(argv);
      expect({ argv, code, stdout }).toEqual({ argv, code: 2, stdout: '' });
      expect(stderr).toContain(message);
    }
  });

  it('names the problem in a bad policy file', async () => {
    const dir = await tempDir();
    const policy = join(dir, 'policy.json');
    await writeFile(
      policy,
      JSON.stringify({
        rules: [{ id: 'x', action: { type: 'allow' }, conditions: [{ type: 'is_friday' }] }],
      }),
    );
    const { code, stderr } = await cli(['scan', dir, '--clamav', tcp(), '--policy', policy]);
    expect(code).toBe(2);
    expect(stderr).toContain(`--policy ${policy}: Invalid policy at rules[0]`);
    expect(stderr).toContain('unknown condition "is_friday"');
  });
});

describe('the scanbridge executable', () => {
  const scanbridge = useCliProcess();

  it('runs as a process, with the exit code as its status', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'eicar.com'), EICAR);
    const { code, stdout } = await scanbridge(['scan', dir, '--clamav', tcp()]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/eicar\.com\s+infected\s+block/);
  });
});
