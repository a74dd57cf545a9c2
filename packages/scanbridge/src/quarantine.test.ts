import { chmod, readFile, utimes, writeFile } from 'node:fs/promises';
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
    const { record: back, content } = await quarantine.retrieve(record.id);
    expect(back).toEqual(record);
    expect(new TextDecoder().decode(content)).toBe(EICAR);
  });

  it('refuses a file that was changed in the quarantine', async () => {
    const { dir, quarantine } = await quarantineIn();
    const { id } = await quarantine.store(eicar(), { reason: 'malware' });
    await chmod(join(dir, `${id}.bin`), 0o600);
    await writeFile(join(dir, `${id}.bin`), 'tampered');
    const error = await quarantine.retrieve(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuarantineError);
    expect(error).toMatchObject({
      kind: 'integrity',
      message: expect.stringContaining(`the record says ${EICAR_SHA256}`),
    });
  });

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
    expect(await quarantine.cleanupExpired()).toBe(1);
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

  it('removes files left by a writer that died mid-write, once they are old', async () => {
    const clock = new ManualClock(Date.now() + 2 * 3_600_000);
    const { dir, quarantine } = await quarantineIn({ clock });
    const kept = await quarantine.store(eicar(), { reason: 'keep' });
    const temp = join(dir, '.tmp-0b5c3c5e-8a57-4a63-9d5e-3c1f0c8f2a11.bin');
    const orphan = join(dir, '9f1c2b7a-1111-4a63-9d5e-3c1f0c8f2a11.bin');
    await writeFile(temp, 'half');
    await writeFile(orphan, 'no record');
    const old = new Date(Date.now() - 1_000);
    await utimes(temp, old, old);
    await utimes(orphan, old, old);
    expect(await quarantine.cleanupExpired()).toBe(0);
    expect((await entries(dir)).sort()).toEqual([`${kept.id}.bin`, `${kept.id}.json`]);
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
    const { record, content } = await quarantine.retrieve(quarantineId as string);
    expect(record).toMatchObject({
      reason: 'suspicious upload',
      tenantId: 'acme',
      sha256: EICAR_SHA256,
    });
    expect(record.report?.id).toBe(scanned.id);
    expect(content.byteLength).toBe(68);
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
    const { record, content } = await quarantine.retrieve(quarantineId as string);
    expect(record).toMatchObject({ filename: 'up.com', sha256: EICAR_SHA256 });
    expect(new TextDecoder().decode(content)).toBe(EICAR);
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
