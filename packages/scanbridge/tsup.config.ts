import { defineConfig } from 'tsup';

export default defineConfig({
  // yara-worker is the YaraScanner's worker thread, started by URL beside dist/index.js: it must
  // be its own file, and needs no declarations.
  entry: {
    index: 'src/index.ts',
    cli: 'src/cli/main.ts',
    'yara-worker': 'src/yara/yara-worker.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' } },
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'node',
});
