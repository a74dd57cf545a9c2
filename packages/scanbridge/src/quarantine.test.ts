import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ManualClock } from '@breakwater/core';
import { describe, expect, it } from 'vitest';
import { bytes, EICAR, EICAR_SHA256, entries, failingStream, tempDirs } from '../test/helpers.js';
import { report } from '../test/reports.js';
import { FileInput } from './input.js';
import { ScanManager } from './manager.js';
import { MockScanner } from './mock-scanner.js';
import { PolicyAction } from './policy/action.js';
import { Condition } from './policy/condition.js';
import { PolicyEngine } from './policy/engine.js';
import { PolicyRule } from './policy/rule.js';
import { FilesystemQuarantine, QuarantineError } from './quarantine.js';

const tempDir = tempDirs();
const eicar = () => FileInput.fromBytes(bytes(EICAR), 'eicar.com');
const DAY = 86_400_000;
const text = (input: FileInput) => input.readAll().then((all) => new TextDecoder().decode(all));

/** Every chunk `input` hands over before it ends or fails, and how it failed. */
async function drain(input: FileInput): Promise<{ received: number; error: unknown }> {
  let received = 0;
  try {
    for await (const chunk of input.chunks()) received += chunk.byteLength;
    return { received, error: undefined };
  } catch (error) {
    return { received, error };
  }
}

/** Retrieves `id` and drains its input: every byte a caller of `retrieve` gets, and how it failed. */
async function readBack(
  quarantine: FilesystemQuarantine,
  id: string,
): Promise<{ received: number; error: unknown }> {
  const retrieved = await quarantine.retrieve(id).catch((error: unknown) => ({ error }));
  if ('error' in retrieved) return { received: 0, error: retrieved.error };
  return drain(retrieved.input);
}

/** Overwrites the start of `path` in place: the same file, other bytes, the same size. */
async function overwriteStart(path: string, text: string): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await file.write(text, 0);
  } finally {
    await file.close();
  }
}

async function quarantineIn(options: { clock?: ManualClock; retentionMs?: number } = {}) {
  const dir = join(await tempDir(), 'quarantine');
  return { dir, quarantine: new FilesystemQuarantine(dir, options) };
}

describe('FilesystemQuarantine', () => {
  it('stores the file and a record, and gives both back after checking the hash', async () => {
    const clock = new ManualClock(1_000_000);
    const { dir, quarantine } = await quarantineIn({ clock });
    const record = await quarantine.store(eicar(), {
      reason: 'malware detected',
      tenantId: 'acme',
    });
    expect(record).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      sha256: EICAR_SHA256,
      size: 68,
      filename: 'eicar.com',
      reason: 'malware detected',
      tenantId: 'acme',
      quarantinedAt: 1_000_000,
      expiresAt: 1_000_000 + 30 * DAY,
    });
    expect((await entries(dir)).sort()).toEqual([`${record.id}.bin`, `${record.id}.json`]);
    const { record: back, input } = await quarantine.retrieve(record.id);
    expect(back).toEqual(record);
    expect(input).toMatchObject({ kind: 'stream', filename: 'eicar.com', sizeHint: 68 });
    expect(await text(input)).toBe(EICAR);
  });

  it('gives the file back as an input a ScanManager scans directly', async () => {
    const { quarantine } = await quarantineIn();
    const { id } = await quarantine.store(eicar(), { reason: 'malware' });
    const manager = ScanManager.builder().addScanner(MockScanner.clean()).build();
    const report = await manager.scan((await quarantine.retrieve(id)).input);
    expect(report.fileMetadata).toMatchObject({
      filename: 'eicar.com',
      size: 68,
      hash: { sha256: EICAR_SHA256 },
    });
  });

  it('refuses at once a file whose size changed in the quarantine', async () => {
    const { dir, quarantine } = await quarantineIn();
    const { id } = await quarantine.store(eicar(), { reason: 'malware' });
    await chmod(join(dir, `${id}.bin`), 0o600);
    await writeFile(join(dir, `${id}.bin`), 'tampered');
    const error = await quarantine.retrieve(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuarantineError);
    expect(error).toMatchObject({
      kind: 'integrity',
      code: 'SCANBRIDGE_QUARANTINE_INTEGRITY',
      message: `Quarantined file ${id} fails its integrity check: it has 8 bytes, the record says 68`,
    });
  });

  it('refuses a file whose bytes changed at rest before handing over any of them', async () => {
    const { dir, quarantine } = await quarantineIn();
    // Many chunks of a read: a check made only as they are read would hand most of them over.
    const content = new Uint8Array(2 ** 20).fill(0x61);
    const { id } = await quarantine.store(FileInput.fromBytes(content, 'big.txt'), {
      reason: 'x',
    });
    await overwriteStart(join(dir, `${id}.bin`), 'MALICIOUS PAYLOAD');
    content.set(bytes('MALICIOUS PAYLOAD'));
    const digest = createHash('sha256').update(content).digest('hex');
    const { received, error } = await readBack(quarantine, id);
    expect(received).toBe(0);
    expect(error).toBeInstanceOf(QuarantineError);
    expect(error).toMatchObject({
      kind: 'integrity',
      code: 'SCANBRIDGE_QUARANTINE_INTEGRITY',
      message: expect.stringContaining(
        `Quarantined file ${id} fails its integrity check: sha256 is ${digest}, the record says`,
      ),
    });
  });

  it('fails the read of a file changed after retrieve before handing over its last chunk', async () => {
    const { dir, quarantine } = await quarantineIn();
    const content = new Uint8Array(300 * 1024).fill(0x61);
    const { id } = await quarantine.store(FileInput.fromBytes(content, 'big.txt'), {
      reason: 'x',
    });
    const { input } = await quarantine.retrieve(id);
    await overwriteStart(join(dir, `${id}.bin`), 'MALICIOUS PAYLOAD');
    const { received, error } = await drain(input);
    expect(received).toBeLessThan(content.length);
    expect(error).toMatchObject({
      kind: 'io',
      message: expect.stringMatching(
        new RegExp(
          `^Quarantined file ${id} fails its integrity check: it changed while it was read \\(sha256 is now [0-9a-f]{64}, the record says [0-9a-f]{64}\\); discard what was read$`,
        ),
      ),
      cause: expect.objectContaining({ code: 'SCANBRIDGE_QUARANTINE_INTEGRITY' }),
    });
    // Scanned directly, the scan fails instead of judging other bytes.
    await overwriteStart(join(dir, `${id}.bin`), 'a'.repeat(17));
    const scanned = (await quarantine.retrieve(id)).input;
    await overwriteStart(join(dir, `${id}.bin`), 'MALICIOUS PAYLOAD');
    const manager = ScanManager.builder().addScanner(MockScanner.clean()).build();
    await expect(manager.scan(scanned)).rejects.toMatchObject({
      kind: 'io',
      message: expect.stringContaining('changed while it was read'),
    });
    // And from then on the file is refused at once.
    await expect(quarantine.retrieve(id)).rejects.toMatchObject({
      code: 'SCANBRIDGE_QUARANTINE_INTEGRITY',
    });
  });

  it('closes a retrieved file that is not going to be read', async () => {
    const { quarantine } = await quarantineIn();
    const { id } = await quarantine.store(eicar(), { reason: 'x' });
    const retrieved = await quarantine.retrieve(id);
    await retrieved.close();
    await expect(text(retrieved.input)).rejects.toMatchObject({
      kind: 'io',
      message: expect.stringContaining('closed'),
    });
  });

  it('says a file is missing when only its record is there', async () => {
    const { dir, quarantine } = await quarantineIn();
    const { id } = await quarantine.store(eicar(), { reason: 'x' });
    await rm(join(dir, `${id}.bin`));
    await expect(quarantine.retrieve(id)).rejects.toMatchObject({
      kind: 'not_found',
      message: `The quarantined file ${id} is missing (its record is there)`,
    });
  });

  it('streams a file over 2 GiB back with flat memory', () => {
    // A sparse file: 2 GiB and 1 MiB of zeros take no disk space, and reading them (twice:
    // retrieve hashes it before it streams it) is quick.
    const child = `
      import { randomUUID, createHash } from 'node:crypto';
      import { mkdir, open, writeFile } from 'node:fs/promises';
      import { join } from 'node:path';
      import { FilesystemQuarantine } from ${JSON.stringify(new URL('./quarantine.ts', import.meta.url).pathname)};
      const [dir] = process.argv.slice(-1);
      const size = 2 ** 31 + 2 ** 20;
      const id = randomUUID();
      await mkdir(dir, { recursive: true });
      const file = await open(join(dir, id + '.bin'), 'w');
      await file.truncate(size);
      await file.close();
      const hash = createHash('sha256');
      const zeros = new Uint8Array(2 ** 20);
      for (let i = 0; i < size / zeros.length; i++) hash.update(zeros);
      const record = { id, sha256: hash.digest('hex'), size, reason: 'big', quarantinedAt: 0, expiresAt: 1 };
      await writeFile(join(dir, id + '.json'), JSON.stringify(record));
      globalThis.gc();
      const before = process.memoryUsage().rss;
      const { input } = await new FilesystemQuarantine(dir).retrieve(id);
      let read = 0;
      for await (const chunk of input.chunks()) read += chunk.byteLength;
      const peak = process.resourceUsage().maxRSS * 1024;
      console.log(JSON.stringify({ read, size, growth: peak - before }));
    `;
    return tempDir().then((dir) => {
      const output = execFileSync(
        process.execPath,
        [
          '--expose-gc',
          '--conditions=breakwater-source',
          '--import',
          'tsx',
          '--input-type=module',
          '--eval',
          child,
          join(dir, 'quarantine'),
        ],
        { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const { read, size, growth } = JSON.parse(output) as Record<string, number>;
      expect(read).toBe(size);
      // A whole-file read would need the file's 2 GiB; retrieve's hash and the streamed read
      // hold a few chunks, plus garbage the collector has not reached yet (39 MB when measured).
      expect(growth).toBeLessThan(128 * 1024 * 1024);
    });
  }, 60_000);

  it('lists with filters, deletes, and cleans up what expired', async () => {
    const clock = new ManualClock(0);
    const { dir, quarantine } = await quarantineIn({ clock, retentionMs: DAY });
    const a = await quarantine.store(eicar(), { reason: 'a', tenantId: 'acme' });
    clock.advance(1_000);
    const b = await quarantine.store(FileInput.fromBytes(bytes('other')), {
      reason: 'b',
      tenantId: 'globex',
      retentionMs: 10 * DAY,
    });
    expect((await quarantine.list()).map((r) => r.id)).toEqual([a.id, b.id]);
    expect((await quarantine.list({ tenantId: 'globex' })).map((r) => r.id)).toEqual([b.id]);
    expect(
      (await quarantine.list({ sha256: EICAR_SHA256.toUpperCase() })).map((r) => r.id),
    ).toEqual([a.id]);
    expect((await quarantine.list({ since: 1_000 })).map((r) => r.id)).toEqual([b.id]);

    clock.advance(DAY);
    expect((await quarantine.list({ expired: true })).map((r) => r.id)).toEqual([a.id]);
    expect(await quarantine.cleanupExpired()).toEqual({ removed: [a.id], skipped: [] });
    expect((await quarantine.list()).map((r) => r.id)).toEqual([b.id]);
    expect(await entries(dir)).toHaveLength(2);

    expect(await quarantine.delete(b.id)).toBe(true);
    expect(await quarantine.delete(b.id)).toBe(false);
    expect(await entries(dir)).toEqual([]);
    await expect(quarantine.get(b.id)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('refuses ids that are not ids, so no path leaves the directory', async () => {
    const { quarantine } = await quarantineIn();
    await expect(quarantine.retrieve('../../etc/passwd')).rejects.toMatchObject({
      kind: 'invalid_id',
    });
    await expect(quarantine.delete('x')).rejects.toMatchObject({ kind: 'invalid_id' });
  });

  it('leaves nothing behind when a stream breaks, the input is bad, or the file changed since its scan', async () => {
    const { dir, quarantine } = await quarantineIn();
    await expect(
      quarantine.store(FileInput.fromStream(failingStream(3)), { reason: 'x' }),
    ).rejects.toMatchObject({ kind: 'io' });
    await expect(
      quarantine.store(FileInput.fromBytes(new Uint8Array(0)), { reason: 'x' }),
    ).rejects.toMatchObject({ kind: 'malformed_file' });
    await expect(quarantine.store(eicar(), { reason: '' })).rejects.toThrow(
      /needs a non-empty reason/,
    );
    const scanned = report();
    await expect(quarantine.store(eicar(), { reason: 'x', report: scanned })).rejects.toThrow(
      /changed after it was scanned/,
    );
    expect(await entries(dir)).toEqual([]);
  });

  it('removes files left by a writer that died mid-write once they are an hour old by the wall clock, whatever the injected clock says', async () => {
    const { dir } = await quarantineIn();
    // The injected clock times records; file mtimes are wall-clock time, so leftovers are too.
    const past = new FilesystemQuarantine(dir, { clock: new ManualClock(0) });
    const future = new FilesystemQuarantine(dir, { clock: new ManualClock(Date.now() + 10 * DAY) });
    const kept = await future.store(eicar(), { reason: 'keep' });
    const names = {
      oldTemp: '.tmp-0b5c3c5e-8a57-4a63-9d5e-3c1f0c8f2a11.bin',
      oldOrphan: '9f1c2b7a-1111-4a63-9d5e-3c1f0c8f2a11.bin',
      newTemp: '.tmp-1c6d4d6f-8a57-4a63-9d5e-3c1f0c8f2a11.bin',
      newOrphan: '8e2d3c8b-2222-4a63-9d5e-3c1f0c8f2a11.bin',
    };
    for (const name of Object.values(names)) await writeFile(join(dir, name), 'half');
    const old = new Date(Date.now() - 2 * 3_600_000);
    await utimes(join(dir, names.oldTemp), old, old);
    await utimes(join(dir, names.oldOrphan), old, old);
    const live = [`${kept.id}.bin`, `${kept.id}.json`, names.newTemp, names.newOrphan].sort();

    expect(await future.cleanupExpired()).toEqual({ removed: [], skipped: [] });
    expect((await entries(dir)).sort()).toEqual(live);
    await utimes(join(dir, names.newTemp), old, old);
    await utimes(join(dir, names.newOrphan), old, old);
    expect(await past.cleanupExpired()).toEqual({ removed: [], skipped: [] });
    expect((await entries(dir)).sort()).toEqual([`${kept.id}.bin`, `${kept.id}.json`].sort());
  });

  it('says clearly that a staged file left uncommitted for over an hour is gone', async () => {
    const { dir, quarantine } = await quarantineIn();
    const staged = await quarantine.stage(eicar());
    const [temp] = await entries(dir);
    const old = new Date(Date.now() - 2 * 3_600_000);
    await utimes(join(dir, temp as string), old, old);
    await quarantine.cleanupExpired();
    const error = await staged.commit({ reason: 'late' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuarantineError);
    expect(error).toMatchObject({
      code: 'SCANBRIDGE_QUARANTINE_NOT_FOUND',
      message: expect.stringMatching(
        /^The staged file [0-9a-f-]{36} is gone, so it cannot be committed: a staged file left uncommitted for over an hour is removed by cleanupExpired; stage it again$/,
      ),
    });
    expect(await entries(dir)).toEqual([]);
    await staged.discard();
  });

  it('skips and reports a corrupt record when cleaning up, and removes the rest', async () => {
    const clock = new ManualClock(0);
    const { dir, quarantine } = await quarantineIn({ clock, retentionMs: DAY });
    const stored = [];
    for (let i = 0; i < 3; i++) stored.push(await quarantine.store(eicar(), { reason: `${i}` }));
    const [first, corrupt, last] = stored.map((r) => r.id) as [string, string, string];
    await chmod(join(dir, `${corrupt}.json`), 0o600);
    await writeFile(join(dir, `${corrupt}.json`), '{ not json');
    clock.advance(2 * DAY);
    const { removed, skipped } = await quarantine.cleanupExpired();
    expect([...removed].sort()).toEqual([first, last].sort());
    expect(skipped).toEqual([
      { id: corrupt, reason: `The record of quarantined file ${corrupt} is not valid JSON` },
    ]);
    // Kept as it was, for a person to look at.
    expect((await entries(dir)).sort()).toEqual([`${corrupt}.bin`, `${corrupt}.json`].sort());
  });

  it('reports a corrupt record clearly', async () => {
    const { dir, quarantine } = await quarantineIn();
    const { id } = await quarantine.store(eicar(), { reason: 'x' });
    await chmod(join(dir, `${id}.json`), 0o600);
    await writeFile(join(dir, `${id}.json`), '{ not json');
    await expect(quarantine.get(id)).rejects.toMatchObject({ kind: 'corrupt_record' });
    expect(await readFile(join(dir, `${id}.bin`), 'utf8')).toBe(EICAR);
  });
});

describe('scanWithPolicy and the quarantine', () => {
  const quarantineSuspicious = () =>
    new PolicyEngine({ defaultAction: PolicyAction.allow() }).addRule(
      new PolicyRule('hold', PolicyAction.quarantine('suspicious upload')).withCondition(
        Condition.outcomeIs('infected'),
      ),
    );

  it('really quarantines when the decision says so, and returns the id', async () => {
    const { dir, quarantine } = await quarantineIn();
    const manager = ScanManager.builder()
      .addScanner(MockScanner.infected(['Eicar']))
      .withPolicyEngine(quarantineSuspicious())
      .withQuarantine(quarantine)
      .build();
    const {
      report: scanned,
      decision,
      quarantineId,
    } = await manager.scanWithPolicy(eicar(), { tenantId: 'acme' });
    expect(decision.action.type).toBe('quarantine');
    expect(quarantineId).toBeDefined();
    const { record, input } = await quarantine.retrieve(quarantineId as string);
    expect(record).toMatchObject({
      reason: 'suspicious upload',
      tenantId: 'acme',
      sha256: EICAR_SHA256,
    });
    expect(record.report?.id).toBe(scanned.id);
    expect(await text(input)).toBe(EICAR);
    expect(await entries(dir)).toHaveLength(2);
  });

  it('quarantines a stream it could read only once', async () => {
    const { dir, quarantine } = await quarantineIn();
    const manager = ScanManager.builder()
      .addScanner(MockScanner.infected(['Eicar']).withName('a'))
      .addScanner(MockScanner.clean().withName('b'))
      .withPolicyEngine(quarantineSuspicious())
      .withQuarantine(quarantine)
      .build();
    const stream = Readable.from([Buffer.from(EICAR.slice(0, 30)), Buffer.from(EICAR.slice(30))]);
    const { quarantineId } = await manager.scanWithPolicy(
      FileInput.fromStream(stream, { filename: 'up.com' }),
    );
    const { record, input } = await quarantine.retrieve(quarantineId as string);
    expect(record).toMatchObject({ filename: 'up.com', sha256: EICAR_SHA256 });
    expect(await text(input)).toBe(EICAR);
    expect(await entries(dir)).toHaveLength(2);
  });

  it('stores nothing when the decision is not quarantine, or the scan failed', async () => {
    const { dir, quarantine } = await quarantineIn();
    const clean = MockScanner.clean();
    const manager = ScanManager.builder()
      .addScanner(clean)
      .withPolicyEngine(quarantineSuspicious())
      .withQuarantine(quarantine)
      .build();
    const allowed = await manager.scanWithPolicy(
      FileInput.fromStream(Readable.from([Buffer.from('fine')])),
    );
    expect(allowed.decision.action.type).toBe('allow');
    expect(allowed.quarantineId).toBeUndefined();
    await expect(
      manager.scanWithPolicy(FileInput.fromStream(failingStream(2))),
    ).rejects.toMatchObject({ kind: 'io' });
    clean.makeUnhealthy();
    await expect(
      manager.scanWithPolicy(FileInput.fromStream(Readable.from([Buffer.from('x')]))),
    ).rejects.toMatchObject({
      kind: 'engine_unavailable',
    });
    expect(await entries(dir)).toEqual([]);
  });

  it('logs the quarantine as an audit event', async () => {
    const { quarantine } = await quarantineIn();
    const events: Record<string, unknown>[] = [];
    const log = (fields: Record<string, unknown>) => events.push(fields);
    const manager = ScanManager.builder()
      .addScanner(MockScanner.infected(['Eicar']))
      .withPolicyEngine(quarantineSuspicious())
      .withQuarantine(quarantine)
      .withAuditLogger({ info: log, warn: log, error: log })
      .build();
    const { quarantineId } = await manager.scanWithPolicy(eicar());
    expect(events.map((e) => e.event)).toEqual([
      'scan_started',
      'scan_completed',
      'policy_decision',
      'quarantine',
    ]);
    expect(events[3]).toMatchObject({
      quarantineId,
      reason: 'suspicious upload',
      sha256: EICAR_SHA256,
    });
  });
});
