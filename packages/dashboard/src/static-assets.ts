import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file of the page, read once: serving it touches neither the disk nor a path. */
export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

// Only these kinds of file are served; anything else in public/ stays private.
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** Right from src/ (tests, the breakwater-source condition) and from dist/ (the package). */
export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/**
 * The page's files by their path under public/ ('app.js', 'icons/x.svg'), read at creation:
 * a request can only name one of these keys, so no path it sends reaches the file system.
 */
export function loadAssets(dir: string = PUBLIC_DIR): ReadonlyMap<string, Asset> {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    throw new Error(
      `createDashboard: cannot read the page's files in ${dir} (${(error as Error).message}); the @breakwater/dashboard install is incomplete: reinstall it`,
    );
  }
  const assets = new Map<string, Asset>();
  for (const entry of entries) {
    const contentType = CONTENT_TYPES[extname(entry.name)];
    const file = join(entry.parentPath, entry.name);
    const key = relative(dir, file).split(sep).join('/');
    // Dotfiles (an editor's swap file, .DS_Store) are never part of the page.
    if (!entry.isFile() || contentType === undefined || /(^|\/)\./.test(key)) continue;
    assets.set(key, { body: readFileSync(file), contentType });
  }
  return assets;
}

export function sendAsset(res: ServerResponse, asset: Asset): void {
  res.writeHead(200, {
    'Content-Type': asset.contentType,
    'Content-Length': asset.body.length,
    // Revalidated on each load, so an upgraded package's page is never mixed with an old one.
    'Cache-Control': 'no-cache',
  });
  res.end(asset.body);
}
