import { tmpdir } from 'node:os';
import { systemClock } from '@breakwater/core';
import {
  integerAtLeast,
  nonEmptyString,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { ScanError } from '../errors.js';
import type { FileInput } from '../input.js';
import { MeteredRead } from '../metadata.js';
import { IN_MEMORY_BYTES } from '../prepare.js';
import type { ScanResult } from '../result.js';
import { type Scanner, type ScanOptions, scanResult } from '../scanner.js';
import { engineTimeout, withTimeout } from '../timeout.js';
import { loadYara } from './yara-module.js';
import { YaraProcess } from './yara-process.js';
import type { YaraMatch } from './yara-protocol.js';
import { compileRules, type YaraRules } from './yara-rules.js';
import { hold, readUpTo } from './yara-spool.js';
import { DEFAULT_VARIABLES, variablesFor } from './yara-variables.js';
import { yaraVerdict } from './yara-verdict.js';

export interface YaraScannerOptions {
  /** Rule text, `{ file }`, or `{ dir }` (every `*.yar` / `*.yara` file in it, sorted). */
  rules: YaraRules;
  /** Default `yara`. */
  name?: string | undefined;
  /** Bytes; larger inputs fail with `file_too_large` without being read further. Default: no limit of its own. */
  maxFileSize?: number | undefined;
  /** Where inputs over 1 MiB are copied to be scanned from disk. Default the OS temp directory. */
  spoolDir?: string | undefined;
}

const OWNER = 'YaraScanner';
const KEYS: ReadonlySet<string> = new Set(['rules', 'name', 'maxFileSize', 'spoolDir']);
const HEALTH_PROBE = Buffer.from('breakwater yara health check');

/**
 * YARA-X, embedded (`@litko/yara-x`, an optional peer). The rules compile in the constructor,
 * so a bad rule set fails at startup with each error's file and line. Scans run in a child
 * process of this scanner's own (started on the first scan), one at a time, with the binding's
 * synchronous calls: its `scanAsync`/`scanFileAsync` hold the event loop for the whole scan,
 * and it reads a file whole, memory that must not be the host's. Inputs up to 1 MiB are held
 * in memory and sent over IPC. A larger path is read again there and checked against the hash
 * made here; a larger stream or bytes are copied to disk while they are read and hashed. Either
 * way what YARA-X scans is exactly what the result's hash describes. A scan whose signal
 * aborts or whose timeout fires kills the process (a scan cannot be interrupted otherwise) and
 * rejects at once; the next scan starts a new one.
 */
export class YaraScanner implements Scanner {
  readonly name: string;
  readonly maxFileSize: number | undefined;
  private readonly child: YaraProcess;
  private readonly spoolDir: string;
  private readonly version: string;
  /** The rule files compiled, in order (empty for inline rule text). */
  readonly ruleFiles: readonly string[];

  constructor(options: YaraScannerOptions) {
    requireObject(OWNER, options);
    rejectUnknownKeys(OWNER, options, KEYS);
    this.name = nonEmptyString(OWNER, 'name', options.name ?? 'yara');
    this.maxFileSize =
      options.maxFileSize === undefined
        ? undefined
        : integerAtLeast(OWNER, 'maxFileSize', options.maxFileSize, 1);
    this.spoolDir = nonEmptyString(OWNER, 'spoolDir', options.spoolDir ?? tmpdir());
    if (options.rules === undefined) {
      throw new TypeError(`${OWNER}: option "rules" is required (rule text, { file } or { dir })`);
    }
    const yara = loadYara();
    const compiled = compileRules(OWNER, this.name, yara.module, options.rules);
    this.child = new YaraProcess(this.name, {
      type: 'rules',
      binding: yara.path,
      source: compiled.source,
    });
    this.ruleFiles = compiled.files;
    this.version = `yara-x ${yara.version} rules ${compiled.digest.slice(0, 12)}`;
  }

  scan(input: FileInput, options: ScanOptions = {}): Promise<ScanResult> {
    const { timeoutMs, signal } = options;
    return withTimeout(systemClock, timeoutMs, signal, engineTimeout(this.name), (scanSignal) =>
      this.scanNow(input, options, scanSignal),
    ).catch((error: unknown) => {
      throw this.cancelled(error, signal);
    });
  }

  /** A caller's abort is `cancelled`, its reason the cause; a ScanError reason (a breaker's timeout) stays itself. */
  private cancelled(error: unknown, signal: AbortSignal | undefined): unknown {
    if (error instanceof ScanError || signal?.aborted !== true || error !== signal.reason) {
      return error;
    }
    return new ScanError('cancelled', `${this.name}: the scan was cancelled`, {
      engine: this.name,
      cause: error,
    });
  }

  /** Scans a few bytes: the native engine loads and answers. */
  async healthCheck(): Promise<void> {
    await this.child.scan({ bytes: HEALTH_PROBE, variables: DEFAULT_VARIABLES }, undefined);
  }

  /**
   * Ends the scanning process (scans running or waiting reject as `cancelled`). Not needed
   * before exit: an idle one never keeps its host alive. A later scan starts a new one.
   */
  close(): Promise<void> {
    return this.child.close();
  }

  /** The yara-x package version and a digest of the rule sources. */
  async signatureVersion(): Promise<string> {
    return this.version;
  }

  private async scanNow(
    input: FileInput,
    options: ScanOptions,
    signal: AbortSignal | undefined,
  ): Promise<ScanResult> {
    const startedAt = Date.now();
    const read = new MeteredRead(input, {
      signal,
      hashes: options.hashes,
      maxBytes: this.maxFileSize,
    });
    const variables = variablesFor(input.filename);
    let matches: YaraMatch[];
    const { path } = input;
    if (path !== undefined) {
      // A file (or a stream the scan manager spooled) is read here only to be hashed; past
      // 1 MiB the scanning process reads it again itself, and checks it is what was hashed.
      const bytes = await readUpTo(read.chunks(), IN_MEMORY_BYTES);
      const { size, hash } = read.metadata();
      const expected = { size, sha256: hash.sha256 };
      matches = await this.child.scan(
        bytes === undefined ? { path, expected, variables } : { bytes, variables },
        signal,
      );
    } else {
      const held = await hold(read.chunks(), IN_MEMORY_BYTES, this.spoolDir, this.name);
      try {
        const { bytes, path: copy } = held;
        matches = await this.child.scan(
          copy === undefined ? { bytes, variables } : { path: copy, variables },
          signal,
        );
      } finally {
        // A scan given up on has had its process killed: unlinking the copy is safe either way.
        await held.remove();
      }
    }
    return scanResult({
      outcome: yaraVerdict(matches, this.name),
      fileMetadata: read.metadata(),
      engine: this.name,
      engineVersion: this.version,
      startedAt,
      completedAt: Date.now(),
      context: options.context,
      details: { rules: matches.map((m) => m.ruleIdentifier) },
    });
  }
}
