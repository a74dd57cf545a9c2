import { tmpdir } from 'node:os';
import { type Clock, MAX_TIMER_MS, systemClock } from '@breakwater/core';
import {
  describeValue,
  durationAtLeast,
  integerAtLeast,
  nonEmptyString,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { EXTRA_HASHES, type ExtraHash } from './hashing.js';
import { DEFAULT_MEMORY_BUDGET, MemoryBudget } from './prepare.js';

export type ScanMode = 'all' | 'first-success';

export interface ManagerConfig {
  /**
   * Per-engine time limit in ms; inside each engine's breaker when it has one. Reading a file on
   * disk (or bytes) before the engines see it has a limit of its own of the same length; a
   * stream's upload has none (the caller's signal bounds it). Default 60 000.
   */
  scanTimeoutMs?: number | undefined;
  /** Larger inputs fail with `file_too_large` before any engine reads them. Default 100 MiB. */
  maxFileSize?: number | undefined;
  /** `all`: every engine, verdicts aggregated (default). `first-success`: engines in turn until one answers. */
  mode?: ScanMode | undefined;
  /** Engines scanning one file at once. Default: all of them. */
  maxParallel?: number | undefined;
  /** Digests besides sha256, e.g. `['md5', 'blake3']`. Default none. */
  hashes?: readonly ExtraHash[] | undefined;
  /** Timestamps and time limits. Default the system clock; a `ManualClock` in tests. */
  clock?: Clock | undefined;
  /** Where stream inputs are spooled (privately, briefly) before engines read them. Default the OS temp dir. */
  spoolDir?: string | undefined;
  /**
   * Bytes held in memory at once across every input being prepared (a stream or a small file is
   * held in memory up to 1 MiB); one that would pass it goes to disk instead (a stream to
   * `spoolDir`, a file read from its handle). Given back when the scan ends. Default 64 MiB;
   * 0 = always on disk.
   */
  memoryBudget?: number | undefined;
}

export interface Settings {
  readonly scanTimeoutMs: number;
  readonly maxFileSize: number;
  readonly mode: ScanMode;
  readonly maxParallel: number;
  readonly hashes: readonly ExtraHash[];
  readonly clock: Clock;
  readonly spoolDir: string;
  /** This manager's own: shared by its scans, not with other managers. */
  readonly memoryBudget: MemoryBudget;
}

const OWNER = 'ScanManager';
const KEYS: ReadonlySet<string> = new Set([
  'scanTimeoutMs',
  'maxFileSize',
  'mode',
  'maxParallel',
  'hashes',
  'clock',
  'spoolDir',
  'memoryBudget',
]);

export function resolveConfig(config: ManagerConfig, scanners: number): Settings {
  requireObject(OWNER, config);
  rejectUnknownKeys(OWNER, config, KEYS);
  const mode = config.mode ?? 'all';
  if (mode !== 'all' && mode !== 'first-success') {
    throw new TypeError(
      `${OWNER}: option "mode" must be "all" or "first-success", got ${describeValue(mode)}`,
    );
  }
  const hashes = config.hashes ?? [];
  if (!Array.isArray(hashes) || !hashes.every((h) => EXTRA_HASHES.includes(h))) {
    throw new TypeError(
      `${OWNER}: option "hashes" must be an array of ${EXTRA_HASHES.join(', ')}, got ${describeValue(hashes)}`,
    );
  }
  const clock = config.clock ?? systemClock;
  if (typeof clock?.now !== 'function') {
    throw new TypeError(
      `${OWNER}: option "clock" must have a now() method, got ${describeValue(clock)}`,
    );
  }
  const spoolDir = nonEmptyString(OWNER, 'spoolDir', config.spoolDir ?? tmpdir());
  const timeout = durationAtLeast(OWNER, 'scanTimeoutMs', config.scanTimeoutMs ?? 60_000, 1);
  if (timeout > MAX_TIMER_MS) {
    throw new RangeError(
      `${OWNER}: option "scanTimeoutMs" must be <= ${MAX_TIMER_MS} ms (about 24.8 days), got ${timeout}`,
    );
  }
  return {
    scanTimeoutMs: timeout,
    maxFileSize: integerAtLeast(OWNER, 'maxFileSize', config.maxFileSize ?? 100 * 1024 * 1024, 1),
    mode,
    maxParallel: integerAtLeast(OWNER, 'maxParallel', config.maxParallel ?? scanners, 1),
    hashes,
    clock,
    spoolDir,
    memoryBudget: new MemoryBudget(
      integerAtLeast(OWNER, 'memoryBudget', config.memoryBudget ?? DEFAULT_MEMORY_BUDGET, 0),
    ),
  };
}
