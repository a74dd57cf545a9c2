import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** In dependency order: each package's dist imports the dist of those before it. */
const BUILT_PACKAGES = ['core', 'authz', 'scanbridge', 'prometheus', 'dashboard', 'gateway'];
const PACKAGES_DIR = resolve(import.meta.dirname, '..', '..', '..');
/** What the sources were when dist/ was last built here. */
const STAMP = join(PACKAGES_DIR, 'gateway', 'dist', '.e2e-sources');
const LOCK = join(
  tmpdir(),
  `breakwater-e2e-build-${createHash('sha256').update(PACKAGES_DIR).digest('hex').slice(0, 12)}.lock`,
);
const BUILD_WITHIN_MS = 120_000;

/**
 * Makes dist/ of the gateway and the packages it runs on match the sources as they are now, so
 * a process started from the built command runs this checkout's code, never a build left over
 * from before. Builds only when a source changed since the last build made here (one test file
 * builds, the next finds it done), one test file at a time: never rewriting files that a
 * process another file started is loading.
 */
export async function freshGatewayDist(): Promise<void> {
  const release = await lock();
  try {
    const sources = await sourcesDigest();
    if ((await readFile(STAMP, 'utf8').catch(() => '')) === sources) return;
    await build();
    await writeFile(STAMP, sources);
  } finally {
    await release();
  }
}

function build(): Promise<void> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        join(import.meta.dirname, 'build-dist.ts'),
        ...BUILT_PACKAGES,
      ],
      { timeout: BUILD_WITHIN_MS, maxBuffer: 16 * 1024 * 1024 },
      (error, _stdout, stderr) =>
        error === null
          ? done()
          : fail(new Error(`building dist/ failed: ${error.message}\n${stderr}`)),
    );
  });
}

/** Every file a build reads, by path, modification time and size. */
async function sourcesDigest(): Promise<string> {
  const hash = createHash('sha256');
  for (const name of BUILT_PACKAGES) {
    const dir = join(PACKAGES_DIR, name);
    const files = [
      join(dir, 'package.json'),
      join(dir, 'tsup.config.ts'),
      ...(await readdir(join(dir, 'src'), { recursive: true })).map((path) =>
        join(dir, 'src', path),
      ),
    ];
    for (const file of files.sort()) {
      const { mtimeMs, size } = await stat(file);
      hash.update(`${file}\0${mtimeMs}\0${size}\n`);
    }
  }
  return hash.digest('hex');
}

/** An exclusive lock file; one left by a run that died is taken over once it is older than a build may take. */
async function lock(): Promise<() => Promise<void>> {
  const giveUp = performance.now() + 2 * BUILD_WITHIN_MS;
  for (;;) {
    try {
      await (await open(LOCK, 'wx')).close();
      return () => rm(LOCK, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = await stat(LOCK).catch(() => undefined);
    if (held !== undefined && Date.now() - held.mtimeMs > BUILD_WITHIN_MS) {
      await rm(LOCK, { force: true });
      continue;
    }
    if (performance.now() > giveUp)
      throw new Error(`the dist/ build lock ${LOCK} is still held; remove it if no test runs`);
    await new Promise((next) => setTimeout(next, 100));
  }
}
