import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const SRC = new URL('./', import.meta.url);

describe('the published code and types', () => {
  // dist/index.d.ts is made from these files: an import of an optional peer there breaks the
  // build of every user who installed only the peers they need (skipLibCheck off, the default).
  it('import nothing from the optional peers @breakwater/authz and @breakwater/scanbridge', async () => {
    const files = (await readdir(SRC)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(files).toContain('authorization-metrics.ts');
    expect(files).toContain('scan-metrics.ts');
    const importers: string[] = [];
    for (const file of files) {
      const text = await readFile(new URL(file, SRC), 'utf8');
      if (/from '@breakwater\/(authz|scanbridge)['/]/.test(text)) importers.push(file);
    }
    expect(importers).toEqual([]);
  });
});
