import type { ChildProcess } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { appendFile, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withCircuitBreaker } from '../src/breaker-scanner.js';
import { ScanError } from '../src/errors.js';
import { FileInput } from '../src/input.js';
import { ScanManager } from '../src/manager.js';
import { loadYara } from '../src/yara/yara-module.js';
import { forkYaraChild, YaraProcess } from '../src/yara/yara-process.js';
import { YaraScanner } from '../src/yara/yara-scanner.js';
import { DEFAULT_VARIABLES } from '../src/yara/yara-variables.js';
import { bytes, EICAR, entries, tempDirs } from './helpers.js';
import {
  alive,
  cpuTicks,
  eventually,
  reaped,
  SLOW_RULE,
  slowBytes,
  yaraChildren,
  yaraHosts,
} from './yara-children.js';

const newDir = tempDirs();
const host = yaraHosts();

const RULES = `
rule Eicar { strings: $e = "EICAR-STANDARD" condition: $e }
`;
/** For the tests that need a scan to take a while: never with the large inputs of `a`. */
const SLOW_RULES = `${RULES}${SLOW_RULE}\n`;

/** Over a second for YARA-X to scan, under SLOW_RULE. */
async function slowFile(dir: string): Promise<FileInput> {
  const path = join(dir, 'slow.html');
  await writeFile(path, slowBytes(768));
  return FileInput.fromPath(path);
}

function only<T>(values: readonly T[]): T {
  expect(values).toHaveLength(1);
  return values[0] as T;
}

/** This process's resident memory now and at its peak, in bytes (Linux). */
function memory(): { rss: number; peak: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** How far this process's resident memory rose above where it was while `work` ran. */
async function rssGrowth<T>(work: () => Promise<T>): Promise<{ value: T; growth: number }> {
  const before = memory();
  let highest = before.rss;
  const sampler = setInterval(() => {
    highest = Math.max(highest, memory().rss);
  }, 20);
  const value = await work().finally(() => clearInterval(sampler));
  // A high-water mark that rose, rose while `work` ran, between two samples or not.
  const after = memory();
  const peak = after.peak > before.peak ? Math.max(after.peak, highest) : highest;
  return { value, growth: peak - before.rss };
}

describe('YaraScanner scanning process', () => {
  it('is one child process per scanner, started on the first scan and reused', async () => {
    const scanner = new YaraScanner({ rules: RULES });
    try {
      expect(yaraChildren(process.pid)).toEqual([]);
      await scanner.scan(FileInput.fromBytes(bytes(EICAR)));
      const child = only(yaraChildren(process.pid));
      await Promise.all(
        Array.from({ length: 8 }, () => scanner.scan(FileInput.fromBytes(bytes('clean')))),
      );
      expect(yaraChildren(process.pid)).toEqual([child]);
      await scanner.close();
      expect(alive(child)).toBe(false);
    } finally {
      await scanner.close();
    }
  });

  it('fails the scan in flight as engine_unavailable when killed from outside; the next scan starts a new one', async () => {
    const dir = await newDir();
    const scanner = new YaraScanner({ rules: SLOW_RULES, spoolDir: dir });
    const yara = withCircuitBreaker(scanner, { failureThreshold: 1, openDuration: 60_000 });
    try {
      const input = await slowFile(dir);
      const scanning = yara.scan(input).catch((e: unknown) => e);
      // The process starts for the slow scan, the first sent to it.
      expect(await eventually(() => yaraChildren(process.pid).length === 1, 5_000)).toBe(true);
      const first = only(yaraChildren(process.pid));
      // Sent behind the slow scan, not started: it goes to the next process.
      const behind = scanner.scan(FileInput.fromBytes(bytes(EICAR)));
      process.kill(first, 'SIGKILL');
      const error = await scanning;
      expect((await behind).outcome.type).toBe('infected');
      expect(error).toBeInstanceOf(ScanError);
      expect(error).toMatchObject({
        kind: 'engine_unavailable',
        engine: 'yara',
        // Whichever Node hears first: the channel's end or the exit.
        message: expect.stringMatching(
          /^yara: the scanning process (was killed by SIGKILL|is gone \(its channel closed\))$/,
        ),
      });
      // The breaker counts it, as it counts an engine that is down.
      expect(yara.breaker.state().name).toBe('open');
      const next = await scanner.scan(FileInput.fromBytes(bytes(EICAR)));
      expect(next.outcome).toMatchObject({ type: 'infected', threats: [{ name: 'Eicar' }] });
      const second = only(yaraChildren(process.pid));
      expect(second).not.toBe(first);
      // Killed while idle, it is simply started again.
      process.kill(second, 'SIGKILL');
      expect(await eventually(() => reaped(second), 5_000)).toBe(true);
      expect((await scanner.scan(FileInput.fromBytes(bytes(EICAR)))).outcome.type).toBe('infected');
      expect(await entries(dir)).toEqual(['slow.html']);
    } finally {
      await scanner.close();
    }
  });

  it('drops the answer of a scan given up on while it waited in the process, and nothing else', async () => {
    const dir = await newDir();
    const scanner = new YaraScanner({ rules: SLOW_RULES });
    try {
      const slow = scanner.scan(await slowFile(dir));
      // The process starts for the slow scan, the first sent to it.
      expect(await eventually(() => yaraChildren(process.pid).length === 1, 5_000)).toBe(true);
      const child = only(yaraChildren(process.pid));
      const controller = new AbortController();
      const reason = new Error('client gone');
      const given = scanner.scan(FileInput.fromBytes(bytes(EICAR)), { signal: controller.signal });
      const after = scanner.scan(FileInput.fromBytes(bytes('nothing to see')));
      // Both are read and sent ahead within a few ms; the slow scan takes over a second.
      await new Promise((resolve) => setTimeout(resolve, 100));
      controller.abort(reason);
      await expect(given).rejects.toMatchObject({ kind: 'cancelled', cause: reason });
      // The scan running is not the one given up on: it goes on, in the same process.
      expect((await slow).outcome.type).toBe('infected');
      // Were the dropped answer taken for the next, this clean file would come out infected.
      expect((await after).outcome).toEqual({ type: 'clean' });
      expect(yaraChildren(process.pid)).toEqual([child]);
    } finally {
      await scanner.close();
    }
  });

  it('never keeps its host alive: a host that never closes its scanner ends by itself', async () => {
    const exiting = host('exit');
    expect(await exiting.ready).toBe('scanned infected');
    expect(await exiting.exited).toEqual({ code: 0, signal: null });
    expect(yaraChildren(exiting.pid)).toEqual([]);
  });

  it('close() ends the scanning process before it resolves, even when it was idle', async () => {
    const closing = host('close');
    expect(await closing.ready).toBe('scanned infected');
    // An unsettled close() would end the host with code 13, before "closed".
    expect(await closing.exited).toEqual({ code: 0, signal: null });
    expect(await closing.output).toBe('scanned infected\nclosed\n');
  });

  it('dies with its host: SIGKILL the host and the scanning process is gone', async () => {
    const waiting = host('wait');
    expect(await waiting.ready).toBe('scanned infected');
    const child = only(yaraChildren(waiting.pid));
    process.kill(waiting.pid, 'SIGKILL');
    expect(await waiting.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await eventually(() => !alive(child), 5_000)).toBe(true);
  });

  it('dies with its host in the middle of a scan, at once', async () => {
    const dir = await newDir();
    // Several seconds of scanning: the host's Script rule is SLOW_RULE.
    const path = join(dir, 'slower.html');
    await writeFile(path, slowBytes(4096));
    const busy = host('busy', path);
    expect(await busy.ready).toBe('scanned infected');
    const child = only(yaraChildren(busy.pid));
    // Idle now; the scan is sent once the host has read and hashed the file, and uses the CPU.
    const idle = cpuTicks(child);
    expect(await eventually(() => cpuTicks(child) > idle + 20, 10_000)).toBe(true);
    process.kill(busy.pid, 'SIGKILL');
    await busy.exited;
    const killed = performance.now();
    expect(await eventually(() => !alive(child), 5_000)).toBe(true);
    // Waiting for its channel instead, it would live until the scan ends, seconds later.
    expect(performance.now() - killed).toBeLessThan(1_000);
  });

  it("keeps the host's memory flat on a 200 MB scan: YARA-X reads it whole, in its own process", async () => {
    const dir = await newDir();
    const scanner = new YaraScanner({ rules: RULES, spoolDir: dir });
    try {
      await scanner.scan(FileInput.fromBytes(bytes('warm up')));
      async function* content(): AsyncGenerator<Uint8Array> {
        const chunk = new Uint8Array(1024 * 1024).fill(0x61);
        for (let i = 0; i < 200; i++) yield chunk;
        yield bytes(EICAR);
      }
      const { value: result, growth } = await rssGrowth(() =>
        scanner.scan(FileInput.fromStream(content())),
      );
      expect(result.outcome.type).toBe('infected');
      expect(result.fileMetadata.size).toBe(200 * 1024 * 1024 + EICAR.length);
      // In-process, YARA-X alone adds about the file's size (~230 MB measured).
      expect(growth).toBeLessThan(100 * 1024 * 1024);
      expect(await entries(dir)).toEqual([]);
    } finally {
      await scanner.close();
    }
  });

  it("keeps the host's memory flat on a 200 MB path too, read again by the scanning process", async () => {
    const dir = await newDir();
    const path = join(dir, 'big.bin');
    const file = await open(path, 'w');
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    for (let i = 0; i < 200; i++) await file.write(chunk);
    await file.write(bytes(EICAR));
    await file.close();
    const scanner = new YaraScanner({ rules: RULES, spoolDir: join(dir, 'no-such-dir') });
    try {
      await scanner.scan(FileInput.fromBytes(bytes('warm up')));
      const { value: result, growth } = await rssGrowth(() =>
        scanner.scan(FileInput.fromPath(path)),
      );
      expect(result.outcome.type).toBe('infected');
      expect(growth).toBeLessThan(100 * 1024 * 1024);
    } finally {
      await scanner.close();
    }
  });
});

describe('YaraScanner on inputs over 1 MiB', () => {
  async function largeFile(dir: string, name: string, tail: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, Buffer.concat([Buffer.alloc(2 * 1024 * 1024, 0x61), bytes(tail)]));
    return path;
  }

  it('scans a path or a stream the manager spooled without a copy of its own', async () => {
    const dir = await newDir();
    // Nothing can be copied there: a scan that needs a copy fails.
    const scanner = new YaraScanner({ rules: RULES, spoolDir: join(dir, 'no-such-dir') });
    try {
      const path = await largeFile(dir, 'large.bin', EICAR);
      const direct = await scanner.scan(FileInput.fromPath(path));
      expect(direct.outcome).toMatchObject({ type: 'infected', threats: [{ name: 'Eicar' }] });
      const manager = ScanManager.builder()
        .addScanner(scanner)
        .withConfig({ spoolDir: dir })
        .build();
      const report = await manager.scan(FileInput.fromStream(createReadStream(path)));
      expect(report.failures).toEqual([]);
      expect(report.aggregatedOutcome.type).toBe('infected');
      // The premise: a stream scanned directly is copied, and here cannot be.
      await expect(
        scanner.scan(FileInput.fromStream(createReadStream(path))),
      ).rejects.toMatchObject({
        kind: 'configuration',
        message: expect.stringContaining('no-such-dir'),
      });
      expect(await entries(dir)).toEqual(['large.bin']);
    } finally {
      await scanner.close();
    }
  });

  it('fails as io, with no verdict, when the file changes between its hashing and its scan', async () => {
    const dir = await newDir();
    const scanner = new YaraScanner({ rules: SLOW_RULES });
    try {
      const resized = await largeFile(dir, 'resized.bin', 'clean');
      const rewritten = await largeFile(dir, 'rewritten.bin', 'clean');
      // The slow scan holds the process while the others are read, hashed and wait their turn.
      const slow = scanner.scan(await slowFile(dir));
      // The process starts for the slow scan, the first sent to it.
      expect(await eventually(() => yaraChildren(process.pid).length === 1, 5_000)).toBe(true);
      const grows = scanner.scan(FileInput.fromPath(resized)).catch((e: unknown) => e);
      const changes = scanner.scan(FileInput.fromPath(rewritten)).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await appendFile(resized, EICAR);
      const handle = await open(rewritten, 'r+');
      await handle.write(bytes(EICAR), 0, EICAR.length, 1024);
      await handle.close();
      expect((await slow).outcome.type).toBe('infected');
      for (const [error, path] of [
        [await grows, resized],
        [await changes, rewritten],
      ] as const) {
        expect(error).toBeInstanceOf(ScanError);
        expect(error).toMatchObject({
          kind: 'io',
          engine: 'yara',
          message: `yara: cannot scan the file as it was read: ${path} changed since it was read and hashed`,
        });
      }
    } finally {
      await scanner.close();
    }
  });
});

/** What the scans below settled as: a rule list, or an error's kind. */
function settled(scan: Promise<readonly { ruleIdentifier: string }[]>): Promise<string> {
  return scan.then(
    (matches) => matches.map((m) => m.ruleIdentifier).join(',') || 'clean',
    (error: unknown) => (error instanceof ScanError ? error.kind : String(error)),
  );
}

/** Settles as `what` after `ms`: a scan that never settles shows as that, not as a hung test. */
function within<T>(ms: number, what: T, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(what), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

describe('YaraProcess when its process is lost', () => {
  const rules = {
    type: 'rules' as const,
    binding: loadYara().path,
    source: SLOW_RULES,
  };
  const variables = DEFAULT_VARIABLES;
  const eicar = { bytes: bytes(EICAR), variables };

  it('takes a scan that arrives after the channel closed, before its disconnect is heard, to a new process', async () => {
    const started: ChildProcess[] = [];
    let onDisconnect = (): void => {};
    // Listening before YaraProcess does: the scan below arrives in the gap between the
    // channel closing (child.connected false) and YaraProcess hearing of it.
    const proc = new YaraProcess('yara', rules, (engine) => {
      const child = forkYaraChild(engine);
      child.once('disconnect', () => onDisconnect());
      started.push(child);
      return child;
    });
    try {
      const slow = settled(proc.scan({ bytes: slowBytes(512), variables }, undefined));
      const behind = settled(proc.scan(eicar, undefined));
      const first = started[0];
      expect(first?.pid).toBeDefined();
      expect(await eventually(() => cpuTicks(first?.pid ?? 0) > 5, 5_000)).toBe(true);
      let arrived: Promise<string> | undefined;
      onDisconnect = () => {
        onDisconnect = () => {};
        expect(first?.connected).toBe(false);
        arrived = settled(proc.scan(eicar, undefined));
      };
      process.kill(first?.pid ?? 0, 'SIGKILL');
      const outcomes = await within(10_000, ['hung'], Promise.all([slow, behind]));
      expect(outcomes).toEqual(['engine_unavailable', 'Eicar']);
      expect(arrived).toBeDefined();
      expect(await within(10_000, 'hung', arrived ?? Promise.resolve('never'))).toBe('Eicar');
      expect(started).toHaveLength(2);
      expect(await settled(proc.scan(eicar, undefined))).toBe('Eicar');
    } finally {
      await proc.close();
    }
    expect(started.filter((child) => !reaped(child.pid ?? 0))).toEqual([]);
  });

  it('settles every scan when its process is killed again and again under a steady load', async () => {
    const started: ChildProcess[] = [];
    const proc = new YaraProcess('yara', rules, (engine) => {
      const child = forkYaraChild(engine);
      started.push(child);
      return child;
    });
    const outcomes: Promise<string>[] = [];
    const body = { bytes: Buffer.alloc(10_000, 0x62), variables };
    // Like uploads: one every 2 ms whether or not the earlier ones have finished.
    const arrivals = setInterval(() => outcomes.push(settled(proc.scan(body, undefined))), 2);
    const kills = 6;
    try {
      for (let kill = 0; kill < kills; kill++) {
        // The newest process, once it has scanned: killed from outside, as the OOM killer would.
        const scanned = outcomes.length;
        expect(await eventually(() => started.length === kill + 1, 5_000)).toBe(true);
        await eventually(() => outcomes.length > scanned + 10, 1_000);
        process.kill(started[kill]?.pid ?? 0, 'SIGKILL');
      }
    } finally {
      clearInterval(arrivals);
    }
    try {
      const all = await within(15_000, ['hung'], Promise.all(outcomes));
      const kinds = new Map<string, number>();
      for (const outcome of all) kinds.set(outcome, (kinds.get(outcome) ?? 0) + 1);
      // Each kill fails at most the scan that was running; everything else is scanned.
      expect([...kinds.keys()].filter((k) => k !== 'clean' && k !== 'engine_unavailable')).toEqual(
        [],
      );
      expect(kinds.get('engine_unavailable') ?? 0).toBeLessThanOrEqual(kills);
      expect(kinds.get('clean') ?? 0).toBeGreaterThanOrEqual(all.length - kills);
    } finally {
      await proc.close();
    }
    expect(started.length).toBeGreaterThan(kills);
    expect(started.filter((child) => !reaped(child.pid ?? 0))).toEqual([]);
  });

  it('close() waits for a process killed earlier by an abort to be gone', async () => {
    const proc = new YaraProcess('yara', rules);
    const controller = new AbortController();
    const slow = settled(proc.scan({ bytes: slowBytes(512), variables }, controller.signal));
    expect(await eventually(() => yaraChildren(process.pid).length === 1, 5_000)).toBe(true);
    const child = only(yaraChildren(process.pid));
    expect(await eventually(() => cpuTicks(child) > 5, 5_000)).toBe(true);
    controller.abort(new Error('client gone'));
    expect(await slow).toBe('Error: client gone');
    await proc.close();
    // Waited for: its exit was heard, so it has been reaped.
    expect(reaped(child)).toBe(true);
  });
});
