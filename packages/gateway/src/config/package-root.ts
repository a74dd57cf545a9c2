import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NAME = '@breakwater/gateway';

/**
 * The gateway package's directory, found by walking up from this module: `src/config/` in a
 * checkout, `dist/` once built, either way below the package.json that names the gateway.
 */
export function packageRoot(): { readonly dir: string; readonly version: string } {
  for (let dir = new URL('.', import.meta.url); ; dir = new URL('..', dir)) {
    const manifest = readManifest(new URL('package.json', dir));
    if (manifest?.name === NAME && typeof manifest.version === 'string') {
      return { dir: fileURLToPath(dir).replace(/\/$/, ''), version: manifest.version };
    }
    if (dir.pathname === '/') throw new Error(`${NAME}: cannot find its own package.json`);
  }
}

function readManifest(url: URL): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(url, 'utf8'));
  } catch {
    return undefined;
  }
}
