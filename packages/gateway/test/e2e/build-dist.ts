// Builds dist/ of the packages the gateway's CLI runs on, from the sources as they are now, with
// each package's own tsup configuration less the declarations (they take a minute and no process
// runs them). Run as a process of its own (`node --import tsx build-dist.ts`): tsup resolves a
// configuration's entries from the working directory, which only a process may change.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Options } from 'tsup';

/** In dependency order: each package's dist imports the dist of those before it. */
export const BUILT_PACKAGES = [
  'core',
  'authz',
  'scanbridge',
  'prometheus',
  'dashboard',
  'gateway',
] as const;

const packages = join(import.meta.dirname, '..', '..', '..');
for (const name of BUILT_PACKAGES) {
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
      ...undeclared(dir, options),
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

/**
 * The gateway imports @authzed/authzed-node (to write its schema) without declaring it, so tsup
 * bundles it, and @grpc/grpc-js with it, whose `require('process')` throws in an ES module: the
 * built command dies at start. Kept external here until packages/gateway/package.json declares
 * it (then this adds nothing, and can go).
 */
function undeclared(dir: string, options: Options): Pick<Options, 'external'> {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
  };
  const authzed = '@authzed/authzed-node';
  if (manifest.name !== '@breakwater/gateway' || manifest.dependencies?.[authzed] !== undefined)
    return {};
  return { external: [...(options.external ?? []), authzed] };
}
