import { defineConfig } from 'tsup';

export default defineConfig({
  // yara-child is the YaraScanner's scanning process, forked by path beside dist/index.js: it
  // must be its own file, and needs no declarations.
  entry: {
    index: 'src/index.ts',
    cli: 'src/cli/main.ts',
    'yara-child': 'src/yara/yara-child.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' } },
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'node',
});
