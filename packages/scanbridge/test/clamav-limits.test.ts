import { describe, expect, it } from 'vitest';
import { ClamAvScanner } from '../src/clamav/clamav-scanner.js';
import { verdictOf } from '../src/clamav/clamd-verdict.js';
import { FileInput, ScanManager } from '../src/index.js';
import { nestedZip } from './clamav-zip.js';
import { useClamd } from './clamd.js';
import { bytes, EICAR } from './helpers.js';

// Low limits, so a file past them is small and quick to make; the harness sets AlertExceedsMax.
const clamd = useClamd({ extra: ['MaxRecursion 3', 'MaxFileSize 64K', 'MaxScanSize 256K'] });

const scanner = () => new ClamAvScanner({ port: clamd().port, maxSessions: 1 });

describe("clamd's scan limits are never a clean verdict", () => {
  it('EICAR zipped deeper than MaxRecursion is suspicious, with the limit as its reason', async () => {
    const engine = scanner();
    const shallow = await engine.scan(FileInput.fromBytes(nestedZip(bytes(EICAR), 2), 'a.zip'));
    expect(shallow.outcome.type).toBe('infected');
    const deep = await engine.scan(FileInput.fromBytes(nestedZip(bytes(EICAR), 5), 'deep.zip'));
    expect(deep.outcome).toEqual({
      type: 'suspicious',
      reason: 'Heuristics.Limits.Exceeded.MaxRecursion',
      confidence: 0.5,
    });
    expect(deep.details.reply).toBe('stream: Heuristics.Limits.Exceeded.MaxRecursion FOUND');
    await engine.close();
  });

  it('a file past MaxFileSize is suspicious, and the default policy quarantines it, not blocks it as malware', async () => {
    const engine = scanner();
    const manager = ScanManager.builder().addScanner(engine).build();
    const { report, decision } = await manager.scanWithPolicy(
      FileInput.fromBytes(new Uint8Array(100_000), 'zeros.bin'),
    );
    expect(report.aggregatedOutcome).toMatchObject({
      type: 'suspicious',
      reason: 'Heuristics.Limits.Exceeded.MaxFileSize',
    });
    expect(decision.action.type).toBe('quarantine');
    await engine.close();
  });

  it('a limit, an encrypted or a broken file is suspicious (not scanned); findings stay threats', () => {
    for (const name of [
      'Heuristics.Limits.Exceeded.MaxScanSize',
      'Heuristics.Encrypted.Zip',
      'Heuristics.Encrypted.RAR',
      'Heuristics.Encrypted.7Zip',
      'Heuristics.Encrypted.PDF',
      'Heuristics.Encrypted.EGG',
      'Heuristics.Broken.Media.PNG.EOFReadingChunk',
      'Heuristics.Broken.Executable',
    ]) {
      expect(verdictOf(`stream: ${name} FOUND`, 'clamav')).toEqual({
        type: 'suspicious',
        reason: name,
        confidence: 0.5,
      });
    }
    for (const name of [
      'Heuristics.Phishing.Email.SpoofedDomain',
      'Heuristics.OLE2.ContainsMacros.VBA',
      'Heuristics.Exploit.CVE-2010-0188',
      'Heuristics.BrokenExecutableish',
    ]) {
      expect(verdictOf(`stream: ${name} FOUND`, 'clamav')).toEqual({
        type: 'infected',
        threats: [{ name, severity: 'medium', engine: 'clamav', signatureId: name }],
      });
    }
  });
});
