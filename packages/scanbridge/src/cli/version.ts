import { readFileSync } from 'node:fs';

const NAME = '@breakwater/scanbridge';

/**
 * The installed package's version, from its package.json: found by walking up from this
 * module, which is `src/cli/` in a checkout and `dist/` once built.
 */
export function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
    const manifest = readManifest(new URL('package.json', dir));
    if (manifest?.name === NAME && typeof manifest.version === 'string') return manifest.version;
    if (dir.pathname === '/') throw new Error(`${NAME}: cannot find its package.json`);
  }
}

function readManifest(url: URL): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(url, 'utf8'));
  } catch {
    return undefined;
  }
}
