import { defineConfig } from 'tsup';

export default defineConfig({
  // embedded/server is the embedded SpiceDB's child process, spawned by path beside
  // embedded/index: it must be its own file, and needs no declarations.
  entry: {
    index: 'src/index.ts',
    'embedded/index': 'src/embedded/index.ts',
    'embedded/server': 'src/embedded/server.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', 'embedded/index': 'src/embedded/index.ts' } },
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'node',
});
