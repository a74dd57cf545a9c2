import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the `breakwater-source`
// export condition), so tests never run against a stale build.
export default defineConfig({
  resolve: { conditions: ['breakwater-source', ...defaultClientConditions] },
  // Not 'module': @opentelemetry/api maps it to a bundler-only build (extensionless imports)
  // that Node cannot load.
  ssr: {
    resolve: {
      conditions: ['breakwater-source', ...defaultServerConditions.filter((c) => c !== 'module')],
    },
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/**/*.test.ts',
      'bench/**/*.test.ts',
      'scripts/**/*.test.ts',
    ],
    typecheck: {
      enabled: true,
      include: ['packages/*/src/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
    setupFiles: ['./scripts/quiet-console.ts'],
    testTimeout: 20_000,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
