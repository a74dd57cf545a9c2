// Builds dist/ of the packages named on its command line, in that order, from the sources as they
// are now, with each package's own tsup configuration less the declarations (they take a minute
// and no process runs them). Run as a process of its own (`node --import tsx build-dist.ts core
// authz ...`): tsup reads the package (its entries, which dependencies stay external) from the
// working directory, which only a process may change.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Options } from 'tsup';

const packages = join(import.meta.dirname, '..', '..', '..');
for (const name of process.argv.slice(2)) {
  const dir = join(packages, name);
  process.chdir(dir);
  const loaded = (await import(pathToFileURL(join(dir, 'tsup.config.ts')).href)) as {
    default: Options | Options[];
  };
  for (const options of [loaded.default].flat()) {
    await build({
      ...options,
      // esbuild keeps the working directory it started in: every path made absolute.
      ...(options.entry === undefined ? {} : { entry: absolute(dir, options.entry) }),
      outDir: join(dir, options.outDir ?? 'dist'),
      // clean: false keeps the declarations the last full build wrote.
      dts: false,
      clean: false,
      silent: true,
      config: false,
    });
  }
}

function absolute(
  dir: string,
  entry: NonNullable<Options['entry']>,
): NonNullable<Options['entry']> {
  if (Array.isArray(entry)) return entry.map((path) => join(dir, path));
  return Object.fromEntries(Object.entries(entry).map(([name, path]) => [name, join(dir, path)]));
}
