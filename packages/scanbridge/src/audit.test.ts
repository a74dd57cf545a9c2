import { describe, expect, it } from 'vitest';
import { bytes, EICAR, EICAR_SHA256 } from '../test/helpers.js';
import { FileInput } from './input.js';
import { ScanManager } from './manager.js';
import { MockScanner } from './mock-scanner.js';
import type { Scanner } from './scanner.js';

const eicar = () => FileInput.fromBytes(bytes(EICAR), 'eicar.com');

/** The audit events of one scanWithPolicy, by event name. */
async function audited(...scanners: Scanner[]): Promise<Map<unknown, Record<string, unknown>>> {
  const events = new Map<unknown, Record<string, unknown>>();
  const log = (fields: Record<string, unknown>) => events.set(fields.event, fields);
  const builder = ScanManager.builder().withAuditLogger({ info: log, warn: log, error: log });
  for (const scanner of scanners) builder.addScanner(scanner);
  await builder.build().scanWithPolicy(eicar());
  return events;
}

describe('the scan_completed audit event', () => {
  it("carries every engine's threat names when another engine failed for good", async () => {
    const events = await audited(
      MockScanner.infected(['Eicar-Test-Signature']).withName('clamav'),
      MockScanner.infected(['EICAR_Test_File']).withName('yara'),
      // Refuses the 68-byte file: file_too_large, which retrying cannot fix.
      MockScanner.clean().withName('small').withMaxFileSize(10),
    );
    expect(events.get('scan_completed')).toMatchObject({
      outcome: 'infected',
      threats: ['Eicar-Test-Signature', 'EICAR_Test_File'],
      sha256: EICAR_SHA256,
      engines: ['clamav', 'yara'],
      failures: [{ engine: 'small', kind: 'file_too_large' }],
    });
    expect(events.get('policy_decision')).toMatchObject({
      action: 'block',
      ruleId: 'block-infected',
    });
  });

  it("carries the threat names when another engine's failure is transient", async () => {
    const down = MockScanner.clean().withName('down');
    down.makeUnhealthy();
    const events = await audited(MockScanner.infected(['Eicar-Test-Signature']), down);
    expect(events.get('scan_completed')).toMatchObject({
      outcome: 'infected',
      threats: ['Eicar-Test-Signature'],
      failures: [{ engine: 'down', kind: 'engine_unavailable' }],
    });
  });
});
