import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, readFileSync, renameSync, statSync } from 'node:fs';
import { mkdir, open, rename, symlink, truncate, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort, startClamd, useClamd } from './clamd.js';
import { useCliProcess } from './cli-process.js';
import { EICAR, tempDirs } from './helpers.js';
import { saturatedPort } from './saturated-port.js';

// Every test here runs the installed command, bin/scanbridge.js -> dist/cli.js, as a process.
const clamd = useClamd();
const scanbridge = useCliProcess();
const tempDir = tempDirs();
const tcp = () => `127.0.0.1:${clamd().port}`;

/** A loopback server that accepts connections and never says a word, as a wedged clamd does. */
async function silentServer(): Promise<{
  port: number;
  /** How many connections it has accepted. */
  accepted(): number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    accepted: () => accepted,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('help, usage and version', () => {
  /** The width the help text is wrapped to. */
  const HELP_WIDTH = 94;

  it('prints the help for --help, scan --help and health --help on stdout, and exits 0', async () => {
    const cases: [string[], string, string[]][] = [
      [['--help'], 'scanbridge scan <files or directories...>', ['--max-file-size', '--timeout']],
      [['-h'], 'scanbridge health [engine options]', ['--policy']],
      [['scan', '--help'], 'Usage: scanbridge scan <files', ['--max-file-size', '--clamav']],
      [['scan', 'x', '-h'], 'Usage: scanbridge scan <files', ['--policy']],
      [['health', '--help'], 'Usage: scanbridge health', ['--timeout <ms>', '--clamav']],
    ];
    for (const [argv, usage, options] of cases) {
      const { code, stdout, stderr } = await scanbridge(argv);
      expect({ argv, code, stderr }).toEqual({ argv, code: 0, stderr: '' });
      expect(stdout).toContain(usage);
      for (const option of options) expect(stdout).toContain(option);
      // Wrapped to one width, so no sentence runs past the rest of the text.
      const wide = stdout.split('\n').filter((line) => line.length > HELP_WIDTH);
      expect({ argv, wide }).toEqual({ argv, wide: [] });
    }
    // Each command's help is about that command.
    expect((await scanbridge(['health', '--help'])).stdout).not.toContain('--policy');
  });

  it('prints the version for --version and exits 0', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    );
    const { code, stdout, stderr } = await scanbridge(['--version']);
    expect({ code, stdout, stderr }).toEqual({
      code: 0,
      stdout: `scanbridge ${version}\n`,
      stderr: '',
    });
  });

  it('prints the usage on stderr and exits 2 when run with no command', async () => {
    const { code, stdout, stderr } = await scanbridge([]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain('Usage:\n  scanbridge scan <files or directories...> [options]');
    expect(stderr).toContain('scanbridge --help');
  });
});

describe('file names that are not UTF-8', () => {
  it('scans them, shows the bytes escaped, and walks into such directories', async () => {
    const dir = await tempDir();
    const bytes = (name: string) =>
      Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name, 'latin1')]);
    await writeFile(bytes('report\xff.txt'), EICAR);
    await writeFile(join(dir, 'report\ufffd.txt'), 'a decoy, harmless');
    await mkdir(bytes('in\xff'));
    await writeFile(Buffer.concat([bytes('in\xff'), Buffer.from('/eicar.com')]), EICAR);
    const { code, stdout } = await scanbridge(['scan', dir, '--clamav', tcp()]);
    expect(stdout).toMatch(/report\\xff\.txt\s+infected\s+block/);
    expect(stdout).toMatch(/in\\xff\/eicar\.com\s+infected\s+block/);
    expect(stdout).toMatch(/report\ufffd\.txt\s+clean\s+allow/);
    expect(stdout).toContain('3 files: 1 allowed, 2 flagged, 0 errors, 0 skipped');
    expect(code).toBe(1);
  });
});

describe('a file named by bytes that is swapped before it is read', () => {
  it('is checked by its path before it is opened: a FIFO swapped in is refused, never opened', async () => {
    const dir = await tempDir();
    const target = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from('report\xff.txt', 'latin1')]);
    await writeFile(target, 'harmless');
    const first = join(dir, 'first.txt');
    await writeFile(first, 'quarterly report');
    const fifo = join(dir, 'fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    // Opening a FIFO to write waits for a reader: this open ends if and only if the run opens it.
    let opened = false;
    const writer = open(fifo, 'w').then((handle) => {
      opened = true;
      return handle;
    });
    // The swap, at the first scan's connection to clamd: after the file was found a regular
    // file, before it is opened (one file at a time, and it comes second).
    let swapped = false;
    const sockets = new Set<Socket>();
    const proxy = createServer((socket) => {
      if (!swapped) renameSync(fifo, target);
      swapped = true;
      const upstream = connect(clamd().port, '127.0.0.1');
      for (const end of [socket, upstream]) {
        sockets.add(end);
        end.on('error', () => end.destroy());
      }
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as { port: number };
    try {
      const run = await scanbridge([
        'scan',
        first,
        target,
        '--clamav',
        `127.0.0.1:${port}`,
        '--concurrency',
        '1',
      ]);
      expect(swapped).toBe(true);
      expect(run.stdout).toMatch(/first\.txt\s+clean\s+allow/);
      expect(run.stdout).toMatch(
        /report\\xff\.txt\s+error\s+-\s+io: .*not a regular file \(a FIFO\)/,
      );
      expect(run.code).toBe(2);
      await Promise.race([writer, new Promise((resolve) => setTimeout(resolve, 50))]);
      expect(opened).toBe(false);
    } finally {
      // A reader lets the writer's open end, so no thread is left waiting on the FIFO.
      const reader = await open(target, constants.O_RDONLY | constants.O_NONBLOCK);
      await (await writer).close();
      await reader.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe('names that only look alike', () => {
  it('shows a byte and the characters that spell its escape as two names, and gives --json the bytes', async () => {
    const dir = await tempDir();
    await writeFile(
      Buffer.concat([Buffer.from(`${dir}/report`), Buffer.of(0xff), Buffer.from('.txt')]),
      EICAR,
    );
    await writeFile(join(dir, 'report\\xff.txt'), 'a decoy, harmless');
    const table = await scanbridge(['scan', dir, '--clamav', tcp()]);
    expect(table.stdout).toMatch(/report\\xff\.txt\s+infected\s+block/);
    expect(table.stdout).toMatch(/report\\\\xff\.txt\s+clean\s+allow/);
    const json = await scanbridge(['scan', dir, '--clamav', tcp(), '--json']);
    const files = JSON.parse(json.stdout).files.map(
      (f: { path: string; pathBytes?: string; verdict: string }) => ({
        name: f.path.slice(dir.length + 1),
        bytes:
          f.pathBytes === undefined
            ? undefined
            : Buffer.from(f.pathBytes, 'base64').subarray(dir.length + 1),
        verdict: f.verdict,
      }),
    );
    expect(files).toEqual([
      { name: 'report\\\\xff.txt', bytes: Buffer.from('report\\xff.txt'), verdict: 'clean' },
      {
        name: 'report\\xff.txt',
        bytes: Buffer.from('report\xff.txt', 'latin1'),
        verdict: 'infected',
      },
    ]);
    // A name that is its own text needs no bytes.
    await writeFile(join(dir, 'plain.txt'), 'plain');
    const plain = await scanbridge(['scan', join(dir, 'plain.txt'), '--clamav', tcp(), '--json']);
    expect(JSON.parse(plain.stdout).files[0]).not.toHaveProperty('pathBytes');
  });
});

describe('names with invisible characters', () => {
  it('shows them escaped, a C1 control apart from the byte of the same number', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'line\u2028break.txt'), 'harmless');
    await writeFile(join(dir, 'soft\u00adhyphen.txt'), 'harmless');
    await writeFile(join(dir, 'c1\u0085.txt'), 'harmless');
    await writeFile(
      Buffer.concat([Buffer.from(`${dir}/c1`), Buffer.of(0x85), Buffer.from('.txt')]),
      'harmless',
    );
    const run = await scanbridge(['scan', dir, '--clamav', tcp()]);
    for (const shown of [
      'line\\u2028break.txt',
      'soft\\u00adhyphen.txt',
      'c1\\u0085.txt',
      'c1\\x85.txt',
    ]) {
      expect(run.stdout).toContain(`${dir}/${shown} `);
    }
    expect(run.stdout + run.stderr).not.toMatch(/[\u2028\u00ad\u0085]/);
    expect(run.code).toBe(0);
  });
});

describe('names that are not UTF-8 on the command line', () => {
  it('scans the file the bytes name, not the one their decoding names', async () => {
    const dir = await tempDir();
    const named = (name: string) =>
      Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name, 'latin1')]);
    await writeFile(named('report\xff.txt'), EICAR);
    await writeFile(join(dir, 'report\ufffd.txt'), 'a decoy, harmless');
    // A policy that sends everything to review, beside a decoy policy that allows everything.
    await writeFile(
      named('policy\xff.json'),
      JSON.stringify({ defaultAction: { type: 'require_review' }, rules: [] }),
    );
    await writeFile(
      join(dir, 'policy\ufffd.json'),
      JSON.stringify({ defaultAction: { type: 'allow' }, rules: [] }),
    );
    const run = await scanbridge([
      'scan',
      named('report\xff.txt'),
      '--clamav',
      tcp(),
      Buffer.concat([Buffer.from('--policy='), named('policy\xff.json')]),
    ]);
    expect(run.stdout).toMatch(/report\\xff\.txt\s+infected\s+require_review\s/);
    expect(run.stdout).not.toContain('\ufffd');
    expect(run.code).toBe(1);
    // A name that really has a U+FFFD in it is its own file.
    const decoy = await scanbridge(['scan', join(dir, 'report\ufffd.txt'), '--clamav', tcp()]);
    expect(decoy.stdout).toMatch(/report\ufffd\.txt\s+clean\s+allow/);
    expect(decoy.code).toBe(0);
  });
});

describe('arguments whose bytes cannot be had', () => {
  it('refuse one with U+FFFD, saying why, without the usage hint', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'report\ufffd.txt'), 'a name that really has U+FFFD');
    // A process title rewrites /proc/self/cmdline, so the arguments' bytes no longer line up.
    const run = await scanbridge(['scan', 'report\ufffd.txt', '--clamav', tcp()], {
      cwd: dir,
      env: { NODE_OPTIONS: '--title=scanbridge-under-test' },
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain("scanbridge could not get this argument's bytes");
    expect(run.stderr).toContain('a name that really contains U+FFFD is refused the same way');
    expect(run.stderr).not.toContain('--help');
  });
});

describe('what cannot be read inside a tree', () => {
  it('is an error line, not a broken link: a link that loops', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'report.txt'), 'quarterly report');
    await symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
    await symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
    await symlink(join(dir, 'gone'), join(dir, 'dangling'));
    const run = await scanbridge(['scan', dir, '--clamav', tcp()]);
    for (const name of ['loop-a', 'loop-b']) {
      const line = run.stdout.split('\n').find((l) => l.startsWith(`${join(dir, name)} `));
      expect(line).toMatch(
        /\s+error\s+-\s+io: cannot read \S+: too many levels of symbolic links \(ELOOP\)$/,
      );
    }
    // A link to nothing has no content to check.
    expect(run.stdout).toMatch(/dangling\s+skipped\s+-\s+broken symbolic link/);
    expect(run.stdout).toMatch(/report\.txt\s+clean\s+allow/);
    expect(run.stdout).toContain('4 files: 1 allowed, 0 flagged, 2 errors, 1 skipped');
    expect(run.code).toBe(2);
  });

  it('is an error line, and the rest of the run goes on: a path past PATH_MAX', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'report.txt'), 'quarterly report');
    // 20 levels of 250-byte names, deeper than the 4096 bytes a path may have: made as two
    // chains of 10, the lower one then moved under the upper one.
    const chain = Array.from({ length: 10 }, () => 'd'.repeat(250));
    await mkdir(join(dir, 'lower', ...chain), { recursive: true });
    await writeFile(join(dir, 'lower', ...chain, 'deep.txt'), 'deep');
    await mkdir(join(dir, 'upper', ...chain), { recursive: true });
    await rename(join(dir, 'lower'), join(dir, 'upper', ...chain, 'lower'));
    try {
      const run = await scanbridge(['scan', dir, '--clamav', tcp()]);
      expect(run.stdout).toMatch(
        /error\s+-\s+io: cannot read \S+: the name is too long \(ENAMETOOLONG\)/,
      );
      expect(run.stdout).toMatch(/report\.txt\s+clean\s+allow/);
      expect(run.stdout).toContain('2 files: 1 allowed, 0 flagged, 1 error, 0 skipped');
      expect(run.code).toBe(2);
    } finally {
      // GNU rm walks a tree by handles, so a path too long for one call is no problem to it.
      await promisify(execFile)('rm', ['-rf', join(dir, 'upper')]);
    }
  });
});

describe('files whose size says 0', () => {
  it('reads and scans one with content, and still skips a truly empty one', async () => {
    // This process's own command line: /proc says 0 bytes, and the content is known and stays.
    const proc = `/proc/${process.pid}/cmdline`;
    expect(statSync(proc).size).toBe(0);
    const content = readFileSync(proc);
    expect(content.length).toBeGreaterThan(0);
    const dir = await tempDir();
    await writeFile(join(dir, 'empty.txt'), '');
    const { code, stdout } = await scanbridge([
      'scan',
      proc,
      join(dir, 'empty.txt'),
      '--clamav',
      tcp(),
      '--json',
    ]);
    const [scanned, empty] = JSON.parse(stdout).files;
    // The hash of what was read, so it was the content that was scanned, not nothing.
    expect(scanned).toMatchObject({
      path: proc,
      status: 'scanned',
      verdict: 'clean',
      sha256: createHash('sha256').update(content).digest('hex'),
    });
    expect(empty).toMatchObject({ status: 'skipped', reason: 'empty file, nothing to scan' });
    expect(code).toBe(0);
  });
});

describe('engines that accept connections and never answer', () => {
  // Long enough that one try plus starting node stays well under three tries' worth.
  const TIMEOUT = 1_500;
  const THREE_TRIES = 3 * TIMEOUT;

  /** `health` against a clamd address that never answers: down on a timeout, after one try. */
  async function healthTimesOut(port: number): Promise<void> {
    const where = `127.0.0.1:${port}`;
    const run = await scanbridge([
      'health',
      '--clamav',
      where,
      '--timeout',
      `${TIMEOUT}`,
      '--json',
    ]);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout).engines).toEqual([
      expect.objectContaining({
        status: 'down',
        error: expect.objectContaining({ kind: 'timeout' }),
        breaker: 'closed',
      }),
    ]);
    expect(run.ms).toBeGreaterThanOrEqual(TIMEOUT);
    expect(run.ms).toBeLessThan(THREE_TRIES);
  }

  it('health gives up after --timeout, after one try, not three', async () => {
    const silent = await silentServer();
    try {
      await healthTimesOut(silent.port);
      expect(silent.accepted()).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it('health gives up after 5 s without --timeout, after one try', async () => {
    const silent = await silentServer();
    try {
      const where = `127.0.0.1:${silent.port}`;
      const run = await scanbridge(['health', '--clamav', where, '--json']);
      expect(run.code).toBe(2);
      expect(JSON.parse(run.stdout).engines).toEqual([
        expect.objectContaining({
          status: 'down',
          error: expect.objectContaining({ kind: 'timeout' }),
        }),
      ]);
      // The default limit, not a scan's 60 s, and not three pings of it.
      expect(run.ms).toBeGreaterThanOrEqual(4_500);
      expect(run.ms).toBeLessThan(7_000);
      expect(silent.accepted()).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it('health gives up after --timeout on an address where connecting hangs', async () => {
    const saturated = await saturatedPort();
    try {
      await healthTimesOut(saturated.port);
    } finally {
      saturated.close();
    }
  });

  it('looking for a local clamd gives up after --timeout too, after one try', async () => {
    const silent = await silentServer();
    try {
      const dir = await tempDir();
      await writeFile(join(dir, 'a.txt'), 'alpha');
      const where = `127.0.0.1:${silent.port}`;
      const run = await scanbridge(['scan', dir, '--timeout', `${TIMEOUT}`], {
        env: { SCANBRIDGE_CLAMAV: where },
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        `scanbridge: SCANBRIDGE_CLAMAV=${where}: no clamd answered there within ${TIMEOUT} ms`,
      );
      // Not a mistake in the command line: the usage would not help.
      expect(run.stderr).not.toContain('--help');
      expect(silent.accepted()).toBe(1);
      expect(run.ms).toBeLessThan(THREE_TRIES);
    } finally {
      await silent.close();
    }
  });

  it('checks the paths before looking for an engine', async () => {
    const silent = await silentServer();
    try {
      const missing = join(await tempDir(), 'typo');
      const run = await scanbridge(['scan', missing, '--timeout', `${TIMEOUT}`], {
        env: { SCANBRIDGE_CLAMAV: `127.0.0.1:${silent.port}` },
      });
      expect(run.stderr).toBe(`scanbridge: cannot read ${missing}: no such file (ENOENT)\n`);
      expect(run.code).toBe(2);
      expect(silent.accepted()).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it('checks --timeout', async () => {
    for (const value of ['0', '1.5', 'soon']) {
      const run = await scanbridge(['health', '--clamav', tcp(), '--timeout', value]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('--timeout must be a whole number of ms from 1 to 600000');
    }
  });
});

describe('a closed stdout', () => {
  it('ends the run quietly, with the exit code of the run', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'alpha');
    for (const json of [[], ['--json']]) {
      const run = await scanbridge(['scan', dir, '--clamav', tcp(), ...json], {
        closeStdout: true,
      });
      expect(run.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
      expect(run.code).toBe(0);
    }
  });

  it('keeps exit 1 for a run that found a threat', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'eicar.com'), EICAR);
    await writeFile(join(dir, 'report.txt'), 'quarterly report');
    for (const json of [[], ['--json']]) {
      const run = await scanbridge(['scan', dir, '--clamav', tcp(), ...json], {
        closeStdout: true,
      });
      expect(run.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
      expect(run.code).toBe(1);
    }
  });
});

describe('something left pending once the report is out', () => {
  it('does not keep the run from exiting', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'alpha');
    // A handle that keeps the event loop alive for good, as an engine's socket or a request
    // still in flight can: a timer started before the CLI by a preloaded module.
    const preload = join(dir, 'pending.mjs');
    await writeFile(preload, 'setInterval(() => {}, 60_000);\n');
    const run = await scanbridge(['scan', dir, '--clamav', tcp()], {
      env: { NODE_OPTIONS: `--import=${preload}` },
    });
    expect(run.stdout).toMatch(/a\.txt\s+clean\s+allow/);
    // Killed by the harness at 15 s (code null) while the handle holds the process.
    expect(run.code).toBe(0);
  });
});

describe('a file operation stuck once the report is out', () => {
  it('ends the run rather than hang, saying why its status is 137', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'alpha');
    // A thread of libuv's pool stuck for good, as a read on a hung mount is: a blocking open of
    // a FIFO nobody writes to, started before the CLI by a preloaded module.
    const aside = await tempDir();
    const fifo = join(aside, 'stuck');
    await promisify(execFile)('mkfifo', [fifo]);
    const preload = join(aside, 'stuck-read.mjs');
    await writeFile(
      preload,
      `import { open } from 'node:fs';\nopen(${JSON.stringify(fifo)}, 'r', () => {});\n`,
    );
    const run = await scanbridge(['scan', dir, '--clamav', tcp()], {
      env: { NODE_OPTIONS: `--import=${preload}` },
    });
    expect(run.stdout).toMatch(/a\.txt\s+clean\s+allow/);
    expect(run.stderr).toContain(
      'scanbridge: a file operation is still stuck (a hung mount?) and Node cannot exit while one is; ending with SIGKILL, so the exit status is 137 (for exit 0)\n',
    );
    expect(run.signal).toBe('SIGKILL');
    // Not the harness's own kill at 15 s: the run ended itself.
    expect(run.ms).toBeLessThan(10_000);
  });
});

describe('--virustotal-key-env', () => {
  it('never prints a key passed in place of the variable name', async () => {
    const keys = [
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      '0123456789abcdef0123456789abcdef01234567',
    ];
    for (const key of keys) {
      const run = await scanbridge(['health', '--virustotal-key-env', key]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'scanbridge: --virustotal-key-env takes the name of an environment variable holding the key, not the key',
      );
      expect(run.stdout + run.stderr).not.toContain(key.slice(0, 8));
    }
    const unset = await scanbridge(['health', '--virustotal-key-env', 'VT_KEY']);
    expect(unset.stderr).toContain('the environment variable VT_KEY is not set');
  });
});

describe('library option names', () => {
  it('never reach the user: a --virustotal-url with credentials names the flag', async () => {
    const run = await scanbridge(
      ['health', '--virustotal-key-env', 'VT_KEY', '--virustotal-url', 'http://u:p@127.0.0.1/'],
      { env: { VT_KEY: 'a-key-for-the-test' } },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--virustotal-url must not carry credentials');
    expect(run.stderr).not.toContain('baseUrl');
  });
});

describe('a stdout that cannot be written', () => {
  it('says so on stderr and exits 2, for a report and for --version', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'alpha');
    for (const argv of [
      ['scan', dir, '--clamav', tcp()],
      ['scan', dir, '--clamav', tcp(), '--json'],
      ['--version'],
    ]) {
      const run = await scanbridge(argv, { stdoutTo: '/dev/full' });
      expect({ argv, code: run.code }).toEqual({ argv, code: 2 });
      expect(run.stderr).toContain(
        'scanbridge: cannot write the report: no space left on device (ENOSPC)\n',
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('--max-file-size', () => {
  it('refuses a larger file with file_too_large, and takes K, M and G', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(1025, 0x61));
    await writeFile(join(dir, 'fits.bin'), Buffer.alloc(1024, 0x61));
    const run = await scanbridge(['scan', dir, '--clamav', tcp(), '--max-file-size', '1K']);
    expect(run.stdout).toMatch(/big\.bin\s+error\s+-\s+file_too_large: .*limit is 1024 bytes/);
    expect(run.stdout).toMatch(/fits\.bin\s+clean\s+allow/);
    expect(run.code).toBe(2);
    const roomy = await scanbridge(['scan', dir, '--clamav', tcp(), '--max-file-size', '1M']);
    expect(roomy.stdout).toContain('2 files: 2 allowed');
    expect(roomy.code).toBe(0);
  });

  it('defaults to 100 MiB, and is the limit of the engine too', async () => {
    const roomy = await startClamd({ streamMaxLength: '200M' });
    try {
      const dir = await tempDir();
      // Sparse: nothing is written to disk, and zeros scan fast.
      const over = join(dir, 'over-100MiB.bin');
      await writeFile(over, '');
      await truncate(over, 100 * 1024 * 1024 + 1);
      const engine = `127.0.0.1:${roomy.port}`;
      const byDefault = await scanbridge(['scan', over, '--clamav', engine]);
      expect(byDefault.stdout).toMatch(
        /over-100MiB\.bin\s+error\s+-\s+file_too_large: .*limit is 104857600 bytes/,
      );
      expect(byDefault.code).toBe(2);
      // Neither the manager nor clamd's scanner keeps a smaller limit of its own: the file
      // reaches clamd, whose verdict it gets (past clamd's own MaxFileSize of 100M, a
      // Heuristics.Limits.Exceeded finding rather than a refusal to read it).
      const raised = await scanbridge([
        'scan',
        over,
        '--clamav',
        engine,
        '--max-file-size',
        '101M',
        '--json',
      ]);
      expect(JSON.parse(raised.stdout).files).toEqual([
        expect.objectContaining({
          status: 'scanned',
          engines: [expect.objectContaining({ engine: 'clamav' })],
          failures: [],
        }),
      ]);
    } finally {
      await roomy.stop();
    }
  }, 60_000);

  it("still refuses, with file_too_large, a file over clamd's own StreamMaxLength", async () => {
    const strict = await startClamd({ streamMaxLength: '1M' });
    try {
      const dir = await tempDir();
      await writeFile(join(dir, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 0x61));
      const run = await scanbridge(['scan', dir, '--clamav', `127.0.0.1:${strict.port}`]);
      const line = run.stdout.split('\n').find((l) => l.startsWith(join(dir, 'big.bin')));
      expect(line).toMatch(/\serror\s+-\s+file_too_large: .*StreamMaxLength/);
      // The flag a user of the command line sets, not the library's option.
      expect(line).toContain('--max-file-size');
      expect(line).not.toContain('maxFileSize');
      expect(run.code).toBe(2);
      const json = await scanbridge([
        'scan',
        dir,
        '--clamav',
        `127.0.0.1:${strict.port}`,
        '--json',
      ]);
      const [file] = JSON.parse(json.stdout).files;
      expect(file.error.kind).toBe('file_too_large');
      expect(file.error.message).toContain('--max-file-size');
    } finally {
      await strict.stop();
    }
  }, 30_000);

  it('says what is wrong with a bad size', async () => {
    for (const value of ['12X', '0', '1.5M', '-1', '']) {
      const run = await scanbridge(['scan', '.', '--clamav', tcp(), `--max-file-size=${value}`]);
      expect({ value, code: run.code }).toEqual({ value, code: 2 });
      expect(run.stderr).toContain(
        `--max-file-size must be a size in bytes, or a whole number with K, M or G (25M, 1G), got ${JSON.stringify(value)}`,
      );
    }
  });
});

describe('--clamav addresses', () => {
  it('takes a host without a port as TCP port 3310, not a socket file', async () => {
    // An empty directory: the old reading looked for a socket file named "localhost" here.
    const dir = await tempDir();
    const run = await scanbridge(
      ['health', '--clamav', 'localhost', '--json', '--timeout', '2000'],
      {
        cwd: dir,
      },
    );
    const [engine] = JSON.parse(run.stdout).engines;
    expect(engine.where).toBe('clamd at localhost:3310');
    // Up only where a clamd really listens on 3310; otherwise refused there, over TCP.
    if (engine.status === 'down') {
      expect(engine.error.message).toContain('localhost:3310');
      expect(engine.error.message).not.toContain('ENOENT');
    }
  });

  it('says a host that does not resolve in words, and how to name a socket file here', async () => {
    const run = await scanbridge(['health', '--clamav', 'clamd.sock', '--timeout', '3000']);
    expect(run.stderr).toMatch(
      /^scanbridge: --clamav clamd\.sock: cannot resolve host clamd\.sock \((ENOTFOUND|EAI_AGAIN)\); for a socket file here, write \.\/clamd\.sock\n$/,
    );
    expect(run.stdout).toBe('');
    expect(run.code).toBe(2);
  });

  it('takes anything with a "/" as a unix socket, and refuses what it cannot read', async () => {
    const socket = clamd().socketPath;
    const up = await scanbridge(['health', '--clamav', './clamd.sock'], { cwd: dirname(socket) });
    expect(up.stdout).toMatch(/^clamav\s+up\s+closed\s+clamd at \.\/clamd\.sock$/m);
    expect(up.code).toBe(0);
    const v6 = await scanbridge(['health', '--clamav', '[::1]', '--json', '--timeout', '500']);
    expect(JSON.parse(v6.stdout).engines[0].where).toBe('clamd at [::1]:3310');
    for (const spec of ['::1', 'host:port', 'host:', '']) {
      const bad = await scanbridge(['health', '--clamav', spec]);
      expect({ spec, code: bad.code }).toEqual({ spec, code: 2 });
      expect(bad.stderr).toContain(`--clamav ${JSON.stringify(spec)}: expected host, host:port`);
    }
  });
});

describe('$SCANBRIDGE_CLAMAV', () => {
  it('is named in its own errors, without the usage hint, and empty means unset', async () => {
    const bad = await scanbridge(['health'], { env: { SCANBRIDGE_CLAMAV: '::1' } });
    expect(bad.stderr).toBe(
      'scanbridge: SCANBRIDGE_CLAMAV "::1": expected host, host:port, [ipv6]:port, or a unix socket path (anything with a "/", like ./clamd.sock)\n',
    );
    expect(bad.code).toBe(2);
    const empty = await scanbridge(['health', '--json', '--timeout', '500'], {
      env: { SCANBRIDGE_CLAMAV: '' },
    });
    expect(empty.stderr).not.toContain('SCANBRIDGE_CLAMAV');
    // The standard places were asked: a clamd there (a system one) is used, else none is found.
    if (empty.code === 0) expect(JSON.parse(empty.stdout).engines[0].status).toBe('up');
    else
      expect(empty.stderr).toContain(
        'no engine configured: no clamd answered at /var/run/clamav/clamd.ctl',
      );
    expect(empty.stderr).not.toContain('--help');
  });
});

describe('messages', () => {
  it('say what happened to a path in words', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'x');
    const scan = await scanbridge(['scan', missing, '--clamav', tcp()]);
    expect(scan.stderr).toContain(`scanbridge: cannot read ${missing}: no such file (ENOENT)\n`);
    expect(scan.code).toBe(2);
    const policy = join(dir, 'nope.json');
    const run = await scanbridge(['scan', dir, '--clamav', tcp(), '--policy', policy]);
    expect(run.stderr).toContain(`scanbridge: --policy ${policy}: no such file (ENOENT)\n`);
    expect(run.code).toBe(2);
  });

  it('refuse an empty argument, as an unset variable gives, rather than scan the directory here', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'alpha');
    for (const argv of [
      ['scan', '', '--clamav', tcp()],
      ['scan', 'a.txt', '', '--clamav', tcp()],
      ['scan', 'a.txt', '--clamav', tcp(), '--policy', ''],
      ['scan', 'a.txt', '--clamav', tcp(), '--policy='],
    ]) {
      const run = await scanbridge(argv, { cwd: dir });
      expect({ argv, code: run.code, stdout: run.stdout }).toEqual({ argv, code: 2, stdout: '' });
      expect(run.stderr).toContain(
        'an empty argument is not a file or directory (an unset variable?)',
      );
    }
  });

  it('say where a --policy is not JSON, and never quote what it holds', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'alpha');
    const secret = join(dir, 'secret.env');
    await writeFile(secret, 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI\n');
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{\n  "rules": []\n  "defaultAction": "x"\n}\n');
    const cases: [string, string][] = [
      [secret, 'not valid JSON'],
      [broken, 'not valid JSON (at line 3, column 3)'],
    ];
    for (const [policy, why] of cases) {
      const run = await scanbridge(['scan', 'a.txt', '--clamav', tcp(), '--policy', policy], {
        cwd: dir,
      });
      expect({ policy, code: run.code }).toEqual({ policy, code: 2 });
      expect(run.stderr).toContain(`scanbridge: --policy ${policy}: ${why}\n`);
      expect(run.stderr).not.toMatch(/AWS|rules|defaultAction/);
    }
  });

  it('refuse a --policy that is not a regular file, or is too large, at once', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'alpha');
    const fifo = join(dir, 'policy.fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    const huge = join(dir, 'huge.json');
    await writeFile(huge, '');
    await truncate(huge, 1024 * 1024 + 1);
    const cases: [string, string][] = [
      [fifo, 'not a regular file (a pipe or a device); write the policy to a file'],
      ['/dev/zero', 'not a regular file (a pipe or a device); write the policy to a file'],
      [huge, 'larger than 1 MiB, which no policy needs'],
    ];
    for (const [policy, why] of cases) {
      const run = await scanbridge([
        'scan',
        join(dir, 'a.txt'),
        '--clamav',
        tcp(),
        '--policy',
        policy,
      ]);
      expect({ policy, code: run.code }).toEqual({ policy, code: 2 });
      expect(run.stderr).toContain(`scanbridge: --policy ${policy}: ${why}\n`);
    }
  });

  it('explain a non-zero exit on the last line, with counts that read right', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'inbox'));
    await writeFile(join(dir, 'report.txt'), 'quarterly report');
    for (const name of ['a', 'b', 'c', 'd']) await symlink(join(dir, 'inbox'), join(dir, name));
    const links = await scanbridge(['scan', dir, '--clamav', tcp()]);
    expect(links.stdout).toContain('5 files: 1 allowed, 0 flagged, 0 errors, 4 skipped\n');
    expect(links.stdout.trimEnd().split('\n').at(-1)).toBe(
      'exit 1: 4 directory links skipped, not scanned',
    );
    expect(links.code).toBe(1);

    await writeFile(join(dir, 'inbox', 'eicar.com'), EICAR);
    const port = await freePort();
    const down = await scanbridge(['scan', join(dir, 'inbox'), '--clamav', `127.0.0.1:${port}`]);
    expect(down.stdout).toContain('1 file: 0 allowed, 0 flagged, 1 error, 0 skipped\n');
    expect(down.stdout.trimEnd().split('\n').at(-1)).toBe(
      'exit 2: 1 file could not be scanned; nothing was scanned',
    );
    expect(down.code).toBe(2);

    const found = await scanbridge(['scan', join(dir, 'inbox'), '--clamav', tcp(), '--json']);
    expect(JSON.parse(found.stdout)).toMatchObject({
      exitCode: 1,
      exitReason: 'exit 1: 1 file blocked',
    });

    // The command line moves nothing, so a quarantine decision is not said to be done.
    const policy = join(dir, 'policy.json');
    const quarantine = { type: 'quarantine', reason: 'kept for analysis' };
    await writeFile(policy, JSON.stringify({ defaultAction: quarantine, rules: [] }));
    const kept = await scanbridge([
      'scan',
      join(dir, 'inbox'),
      '--clamav',
      tcp(),
      '--policy',
      policy,
    ]);
    expect(kept.stdout.trimEnd().split('\n').at(-1)).toBe(
      'exit 1: 1 file to quarantine (not moved)',
    );
    expect(kept.code).toBe(1);
  });
});
