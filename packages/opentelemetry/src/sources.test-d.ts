import type { AuthorizationService } from '@breakwater/authz';
import type { ScanManager } from '@breakwater/scanbridge';
import { describe, expectTypeOf, it } from 'vitest';
import type { AuthorizationSource, ScanSource } from './index.js';

// The source types are declared locally so the published types need neither optional peer;
// these keep them in step with the real classes.
describe('source types', () => {
  it('an AuthorizationService is an AuthorizationSource', () => {
    expectTypeOf<AuthorizationService>().toExtend<AuthorizationSource>();
  });

  it('a ScanManager is a ScanSource', () => {
    expectTypeOf<ScanManager>().toExtend<ScanSource>();
  });

  it('something without the event the instruments listen to is not', () => {
    expectTypeOf<Pick<AuthorizationService, 'stats'>>().not.toExtend<AuthorizationSource>();
    expectTypeOf<{
      stats: ScanManager['stats'];
      on(event: 'decision', listener: () => void): () => void;
    }>().not.toExtend<ScanSource>();
  });
});
