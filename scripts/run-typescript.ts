import { type SpawnSyncReturns, spawnSync } from 'node:child_process';

/** Runs a TypeScript file in a child Node process, resolving workspace packages to their sources. */
export function runTypeScript(file: string, timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--conditions=breakwater-source', '--import', 'tsx', file], {
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}
