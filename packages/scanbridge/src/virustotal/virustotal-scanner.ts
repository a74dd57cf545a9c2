import { type Clock, systemClock } from '@breakwater/core';
import {
  describeValue,
  durationAtLeast,
  integerAtLeast,
  nonEmptyString,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { ScanError } from '../errors.js';
import type { FileInput } from '../input.js';
import { MeteredRead } from '../metadata.js';
import type { FileMetadata, ScanOutcome, ScanResult } from '../result.js';
import { type Scanner, type ScanOptions, scanResult } from '../scanner.js';
import { sleep } from '../sleep.js';
import { vtVerdict } from './verdict.js';
import { checkBaseUrl, VtClient } from './vt-client.js';

export interface VirusTotalScannerOptions {
  /** Never logged, never in an error or a result. */
  apiKey: string;
  /** Default `https://www.virustotal.com/api/v3`; plain http only on loopback. */
  baseUrl?: string | undefined;
  /** Upload files VirusTotal does not know yet (they become visible to its subscribers). Default false. */
  uploadUnknown?: boolean | undefined;
  /** Between polls of an upload's analysis. Default 15 000 ms (the public quota is 4 requests a minute). */
  pollIntervalMs?: number | undefined;
  /** How long an upload's analysis may take. Default 300 000 ms. */
  maxPollTimeMs?: number | undefined;
  /** Each HTTP request, until its last byte. Default 30 000 ms. */
  timeoutMs?: number | undefined;
  /**
   * Bytes; the largest unknown file to upload (and so to hold in memory). A lookup has no limit:
   * only the hash is sent. Default 32 MiB, at most 650 MB (VirusTotal's limit).
   */
  maxUploadSize?: number | undefined;
  /** Default `virustotal`. */
  name?: string | undefined;
  /** Times the polling of an upload's analysis. Default the system clock; a `ManualClock` in tests. */
  clock?: Clock | undefined;
}

const OWNER = 'VirusTotalScanner';
const KEYS: ReadonlySet<string> = new Set([
  'apiKey',
  'baseUrl',
  'uploadUnknown',
  'pollIntervalMs',
  'maxPollTimeMs',
  'timeoutMs',
  'maxUploadSize',
  'name',
  'clock',
]);
// VirusTotal takes files up to 32 MB on POST /files, and up to 650 MB through an upload URL.
const DIRECT_UPLOAD_LIMIT = 32_000_000;
const UPLOAD_LIMIT = 650_000_000;
// Looked up by healthCheck(): known to VirusTotal, harmless, and the same for everyone.
const EICAR_SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';
const PENDING = new Set(['queued', 'in-progress']);

interface Found {
  readonly outcome: ScanOutcome;
  readonly details: Record<string, unknown>;
}

/**
 * VirusTotal's API v3: a file is looked up by its sha256; an unknown file is uploaded (only
 * with `uploadUnknown`) and its analysis polled. A file VirusTotal knows nothing about is
 * never "clean": without an upload it is a recoverable `error` outcome.
 */
export class VirusTotalScanner implements Scanner {
  readonly name: string;
  private readonly maxUploadSize: number;
  private readonly client: VtClient;
  private readonly uploadUnknown: boolean;
  private readonly pollIntervalMs: number;
  private readonly maxPollTimeMs: number;
  private readonly clock: Clock;

  constructor(options: VirusTotalScannerOptions) {
    requireObject(OWNER, options);
    rejectUnknownKeys(OWNER, options, KEYS);
    const apiKey = nonEmptyString(OWNER, 'apiKey', options.apiKey);
    // A key with spaces or control characters makes fetch quote it in its error.
    if (!/^[\x21-\x7e]+$/.test(apiKey)) {
      throw new TypeError(
        `${OWNER}: option "apiKey" must be printable ASCII without spaces (check where it was read from)`,
      );
    }
    this.name = nonEmptyString(OWNER, 'name', options.name ?? 'virustotal');
    const { uploadUnknown = false } = options;
    if (typeof uploadUnknown !== 'boolean') {
      throw new TypeError(`${OWNER}: option "uploadUnknown" must be a boolean`);
    }
    this.uploadUnknown = uploadUnknown;
    this.pollIntervalMs = durationAtLeast(
      OWNER,
      'pollIntervalMs',
      options.pollIntervalMs ?? 15_000,
      1,
    );
    this.maxPollTimeMs = durationAtLeast(
      OWNER,
      'maxPollTimeMs',
      options.maxPollTimeMs ?? 300_000,
      1,
    );
    this.maxUploadSize = integerAtLeast(
      OWNER,
      'maxUploadSize',
      options.maxUploadSize ?? 32 * 1024 * 1024,
      1,
    );
    if (this.maxUploadSize > UPLOAD_LIMIT) {
      throw new RangeError(
        `${OWNER}: option "maxUploadSize" must be <= ${UPLOAD_LIMIT} (VirusTotal's limit), got ${this.maxUploadSize}`,
      );
    }
    const clock = options.clock ?? systemClock;
    if (typeof clock?.now !== 'function') {
      throw new TypeError(
        `${OWNER}: option "clock" must have a now() method, got ${describeValue(clock)}`,
      );
    }
    this.clock = clock;
    this.client = new VtClient({
      apiKey,
      baseUrl: checkBaseUrl(OWNER, options.baseUrl ?? 'https://www.virustotal.com/api/v3'),
      timeoutMs: durationAtLeast(OWNER, 'timeoutMs', options.timeoutMs ?? 30_000, 1),
      engine: this.name,
    });
  }

  async scan(input: FileInput, options: ScanOptions = {}): Promise<ScanResult> {
    const startedAt = Date.now();
    const { signal } = options;
    const read = new MeteredRead(input, { signal, hashes: options.hashes });
    // Only an upload needs the bytes again (a stream cannot be read twice), and only up to
    // the largest file it may upload; a lookup needs nothing but the hash.
    let kept: Uint8Array[] | undefined = this.uploadUnknown ? [] : undefined;
    for await (const chunk of read.chunks()) {
      kept?.push(chunk);
      if (read.bytesRead > this.maxUploadSize) kept = undefined;
    }
    const fileMetadata = read.metadata();
    const found =
      (await this.lookup(fileMetadata.hash.sha256, signal)) ??
      (this.uploadUnknown
        ? await this.analyse(kept, fileMetadata, signal)
        : {
            outcome: { type: 'error', recoverable: true } as const,
            details: { source: 'lookup', known: false },
          });
    return scanResult({
      outcome: found.outcome,
      fileMetadata,
      engine: this.name,
      startedAt,
      completedAt: Date.now(),
      context: options.context,
      details: found.details,
    });
  }

  /**
   * Looks up EICAR's report (one request of quota): the API answers, accepts the key, and is
   * VirusTotal's, since every VirusTotal knows EICAR.
   */
  async healthCheck(): Promise<void> {
    if ((await this.lookup(EICAR_SHA256, undefined)) === undefined) {
      throw this.ambiguous("the API does not know EICAR's hash: is baseUrl VirusTotal's API?");
    }
  }

  /** The file's last analysis, or undefined when VirusTotal has never seen it. */
  private async lookup(
    sha256: string,
    signal: AbortSignal | undefined,
  ): Promise<Found | undefined> {
    const answer = await this.client.get(this.client.url(`files/${sha256}`), signal);
    if (answer.status === 404) return undefined;
    const data = field(answer.body, 'data');
    this.checkSameFile(field(data, 'id'), sha256, 'file report');
    const attributes = field(data, 'attributes');
    const { outcome, stats } = vtVerdict(
      field(attributes, 'last_analysis_stats'),
      field(attributes, 'last_analysis_results'),
      this.name,
    );
    const date = field(attributes, 'last_analysis_date');
    return {
      outcome,
      details: {
        source: 'lookup',
        stats,
        ...(Number.isInteger(date) ? { lastAnalysisDate: (date as number) * 1000 } : {}),
      },
    };
  }

  private async analyse(
    parts: Uint8Array[] | undefined,
    metadata: FileMetadata,
    signal: AbortSignal | undefined,
  ): Promise<Found> {
    if (parts === undefined) {
      throw new ScanError(
        'file_too_large',
        `${this.name}: VirusTotal does not know this file, and at ${metadata.size} bytes it is over maxUploadSize (${this.maxUploadSize}) to upload`,
        { engine: this.name },
      );
    }
    const analysisId = await this.upload(parts, metadata, signal);
    const { outcome, stats } = await this.poll(analysisId, metadata.hash.sha256, signal);
    return { outcome, details: { source: 'upload', analysisId, stats } };
  }

  /** Sends the file; returns the id of the analysis VirusTotal queued for it. */
  private async upload(
    parts: Uint8Array[],
    metadata: FileMetadata,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const target =
      metadata.size > DIRECT_UPLOAD_LIMIT ? await this.uploadUrl(signal) : this.client.url('files');
    const form = new FormData();
    form.append('file', new Blob(parts), metadata.filename ?? metadata.hash.sha256);
    const answer = await this.client.post(target, form, signal);
    const id = answer.status === 200 ? field(field(answer.body, 'data'), 'id') : undefined;
    if (typeof id !== 'string' || id.length === 0)
      throw this.ambiguous('the upload answer has no analysis id');
    return id;
  }

  /** Files over 32 MB go to a one-off URL, which must be on the API's own origin: it gets the key. */
  private async uploadUrl(signal: AbortSignal | undefined): Promise<URL> {
    const answer = await this.client.get(this.client.url('files/upload_url'), signal);
    const href = answer.status === 200 ? field(answer.body, 'data') : undefined;
    const url = typeof href === 'string' ? this.client.sameOrigin(href) : undefined;
    if (url === undefined) throw this.ambiguous('no upload URL on the API origin was given');
    return url;
  }

  /**
   * Asks for the analysis every `pollIntervalMs` until it completes or `maxPollTimeMs` runs
   * out. A 429 while waiting stretches the wait to its Retry-After, when that still fits.
   */
  private async poll(id: string, sha256: string, signal: AbortSignal | undefined) {
    const url = this.client.url(`analyses/${encodeURIComponent(id)}`);
    const deadline = this.clock.now() + this.maxPollTimeMs;
    let wait = this.pollIntervalMs;
    let limited: ScanError | undefined;
    while (true) {
      const remaining = deadline - this.clock.now();
      if (remaining <= 0 || (limited !== undefined && (limited.retryAfter ?? 0) > remaining)) {
        throw (
          limited ??
          new ScanError(
            'timeout',
            `${this.name}: VirusTotal's analysis ${id} did not complete within ${this.maxPollTimeMs} ms`,
            { engine: this.name },
          )
        );
      }
      await sleep(this.clock, Math.min(wait, remaining), signal);
      let answer: Awaited<ReturnType<VtClient['get']>>;
      try {
        answer = await this.client.get(url, signal);
      } catch (error) {
        if (!(error instanceof ScanError && error.kind === 'rate_limited')) throw error;
        limited = error;
        wait = Math.max(this.pollIntervalMs, error.retryAfter ?? 0);
        continue;
      }
      limited = undefined;
      wait = this.pollIntervalMs;
      if (answer.status === 404) throw this.ambiguous(`analysis ${id} is unknown to VirusTotal`);
      const attributes = field(field(answer.body, 'data'), 'attributes');
      const status = field(attributes, 'status');
      if (status === 'completed') {
        const fileInfo = field(field(answer.body, 'meta'), 'file_info');
        this.checkSameFile(field(fileInfo, 'sha256'), sha256, 'analysis');
        return vtVerdict(field(attributes, 'stats'), field(attributes, 'results'), this.name);
      }
      if (typeof status !== 'string' || !PENDING.has(status)) {
        throw this.ambiguous(`analysis ${id} has status ${JSON.stringify(status)}`);
      }
    }
  }

  /**
   * A report about other bytes is no verdict on these, and neither is one that does not say
   * which bytes it is about (a proxy's cached answer, a stand-in that is not VirusTotal).
   */
  private checkSameFile(reported: unknown, sha256: string, what: string): void {
    if (typeof reported !== 'string' || reported.length === 0) {
      throw this.ambiguous(`the ${what} does not say which file it describes`);
    }
    if (reported.toLowerCase() !== sha256) {
      throw this.ambiguous(`the ${what} describes another file`);
    }
  }

  private ambiguous(problem: string): ScanError {
    return new ScanError('ambiguous_response', `${this.name}: ${problem}`, { engine: this.name });
  }
}

/** `value[key]` when value is an object; undefined otherwise (checked by the caller). */
function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}
