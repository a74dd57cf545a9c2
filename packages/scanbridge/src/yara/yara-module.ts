import { createRequire } from 'node:module';
import type * as YaraXModule from '@litko/yara-x';
import { ScanError } from '../errors.js';

/** The optional peer that embeds YARA-X. */
export const YARA_PACKAGE = '@litko/yara-x';
const INSTALL = `npm install ${YARA_PACKAGE}@^0.3.0`;

export type YaraModule = typeof YaraXModule;

export interface LoadedYara {
  readonly module: YaraModule;
  /** The package's own version, part of the scanner's signature version. */
  readonly version: string;
  /** Where it was loaded from: the scanning process loads the same file. */
  readonly path: string;
}

const loaded = new Map<string, LoadedYara>();

/**
 * Loads the native YARA-X binding the first time a YaraScanner is built, so scanbridge works
 * without it. A synchronous require (not `import()`): the rules compile in the constructor, and
 * a bad rule set must fail there, not on the first scan. `specifier` is for tests only.
 */
export function loadYara(specifier: string = YARA_PACKAGE): LoadedYara {
  const known = loaded.get(specifier);
  if (known !== undefined) return known;
  const require = createRequire(import.meta.url);
  let module: YaraModule;
  try {
    module = require(specifier) as YaraModule;
  } catch (error) {
    throw missing(specifier, error);
  }
  if (typeof module?.create !== 'function' || typeof module.validate !== 'function') {
    throw new ScanError(
      'configuration',
      `${specifier} loaded but has no create()/validate(): install a supported version (${INSTALL})`,
    );
  }
  const version = packageVersion(require, specifier);
  const result: LoadedYara = { module, version, path: require.resolve(specifier) };
  loaded.set(specifier, result);
  return result;
}

function packageVersion(require: NodeJS.Require, specifier: string): string {
  try {
    const { version } = require(`${specifier}/package.json`) as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function missing(specifier: string, error: unknown): ScanError {
  const code = (error as { code?: unknown } | null)?.code;
  const reason =
    code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND'
      ? 'is not installed'
      : `could not be loaded (${error instanceof Error ? error.message.split('\n')[0] : String(error)}; its prebuilt binary covers linux-x64-gnu and macOS)`;
  return new ScanError(
    'configuration',
    `The YARA engine needs the optional package ${specifier}, which ${reason}: run \`${INSTALL}\``,
    { cause: error },
  );
}
