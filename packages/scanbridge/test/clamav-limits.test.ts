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

  it('any Heuristics.Limits.Exceeded name is a limit; other heuristics stay threats', () => {
    expect(verdictOf('stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND', 'clamav')).toEqual({
      type: 'suspicious',
      reason: 'Heuristics.Limits.Exceeded.MaxScanSize',
      confidence: 0.5,
    });
    expect(verdictOf('stream: Heuristics.Phishing.Email.SpoofedDomain FOUND', 'clamav')).toEqual({
      type: 'infected',
      threats: [
        {
          name: 'Heuristics.Phishing.Email.SpoofedDomain',
          severity: 'medium',
          engine: 'clamav',
          signatureId: 'Heuristics.Phishing.Email.SpoofedDomain',
        },
      ],
    });
  });
});
