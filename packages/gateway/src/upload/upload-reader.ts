import type { Clock } from '@breakwater/core';
import { untilAborted } from '@breakwater/core';
import {
  FileInput,
  type PolicyScan,
  type ScanContext,
  type ScanManager,
} from '@breakwater/scanbridge';
import type { FastifyRequest } from 'fastify';
import { BodyDeadline, type BodyTimeouts } from './deadline.js';
import { show } from './filename.js';
import { DEFAULT_RETRY_AFTER_SECONDS, scanFailure } from './scan-failure.js';
import { ClientGoneError, UploadError } from './upload-error.js';

/** One uploaded file, scanned and decided. */
export interface ScannedFile {
  /** As sent (X-Filename or the form part's filename), checked by `checkFilename`. */
  readonly filename: string;
  /** Bytes, as the scan manager measured them. */
  readonly size: number;
  readonly scan: PolicyScan;
}

export interface ReaderLimits extends BodyTimeouts {
  readonly maxFileSize: number;
}

/** How an error from the client's side (its stream, the form parser) reads as an UploadError. */
export type ClientFailure = (error: unknown) => UploadError;

/**
 * One request's body, read file by file into the scan manager. Every wait for the client runs
 * against the body's deadline; every file is counted against the size limit as it arrives. The
 * first thing to go wrong is remembered and is what the request fails with (the manager only
 * sees a stream that broke), and it cancels whatever scan is running: the body is lost.
 */
export class UploadReader {
  private readonly request: FastifyRequest;
  private readonly limits: ReaderLimits;
  private readonly manager: ScanManager;
  private readonly context: ScanContext;
  private readonly cancel = new AbortController();
  private readonly onBodyEnd = (): void => this.deadline.finished();
  /** The caller's signal: the client went away, or the gateway is stopping. */
  private readonly caller: AbortSignal;
  private readonly onCallerAbort = (): void => this.cancel.abort(this.caller.reason);
  /** Aborts with the caller's signal, or with the upload's own failure, whichever comes first. */
  private readonly signal: AbortSignal;
  private readonly deadline: BodyDeadline;
  private failure: UploadError | undefined;

  constructor(
    request: FastifyRequest,
    options: {
      manager: ScanManager;
      limits: ReaderLimits;
      context: ScanContext;
      signal: AbortSignal;
      clock?: Clock | undefined;
    },
  ) {
    this.request = request;
    this.limits = options.limits;
    this.manager = options.manager;
    this.context = options.context;
    // One listener rather than AbortSignal.any, which costs tens of microseconds a request on
    // Node 20 (more when the caller's signal is itself one) and leaves a weak reference on the
    // caller's signals until the next garbage collection.
    this.caller = options.signal;
    this.signal = this.cancel.signal;
    if (this.caller.aborted) this.cancel.abort(this.caller.reason);
    else this.caller.addEventListener('abort', this.onCallerAbort, { once: true });
    this.deadline = new BodyDeadline(options.limits, (error) => this.fail(error), options.clock);
    // The body's last byte has been read off the connection (by us or by the form parser).
    request.raw.once('end', this.onBodyEnd);
  }

  /** Records why the upload failed (the first reason wins), stops any scan, and returns it. */
  fail(error: UploadError): UploadError {
    if (this.failure === undefined) {
      this.failure = error;
      this.cancel.abort(error);
    }
    return this.failure;
  }

  /** Waits for the client (the next form part), within the deadline and the caller's signal. */
  next<T>(step: Promise<T>, failed: ClientFailure): Promise<T> {
    return this.deadline.wait(untilAborted(step, this.signal)).catch((error: unknown) => {
      throw this.signal.aborted ? this.settled(error) : this.fail(failed(error));
    });
  }

  /** Bytes arrived off the connection: the client is not idle, whatever the parser makes of them. */
  received(): void {
    this.deadline.received();
  }

  /** Streams one file into the manager's scan, policy and quarantine. */
  async scan(
    source: AsyncIterator<Uint8Array>,
    filename: string,
    failed: ClientFailure,
    sizeHint?: number,
  ): Promise<ScannedFile> {
    const stream = this.chunks(source, filename, failed);
    const input = FileInput.fromStream(stream, { filename, sizeHint });
    try {
      const scan = await this.manager.scanWithPolicy(input, this.context, { signal: this.signal });
      return { filename, size: scan.report.fileMetadata.size, scan };
    } catch (error) {
      throw this.settled(scanFailure(error, filename));
    }
  }

  /** Reads a part nobody scans (a field the route ignores) to its end; returns its size. */
  async skip(
    source: AsyncIterator<Uint8Array>,
    filename: string,
    failed: ClientFailure,
  ): Promise<number> {
    let size = 0;
    for await (const chunk of this.chunks(source, filename, failed, true)) size += chunk.byteLength;
    return size;
  }

  /** The request is over: clocks stopped, listeners gone. */
  dispose(): void {
    this.deadline.dispose();
    this.request.raw.removeListener('end', this.onBodyEnd);
    this.caller.removeEventListener('abort', this.onCallerAbort);
  }

  /**
   * What a request that ended with `error` fails with: the reason recorded first, else a body
   * the client stopped sending (its connection is gone), else the caller's reason for stopping
   * it (the client gone once its body was in, or the gateway stopping: the scan was cancelled
   * for it), else `error` itself.
   */
  private settled(error: unknown): unknown {
    if (this.failure !== undefined) return this.failure;
    const raw = this.request.raw;
    if (!raw.complete && raw.destroyed) return this.fail(incomplete(error));
    if (this.caller.aborted) return this.fail(stopped(this.caller.reason));
    return error;
  }

  private async *chunks(
    source: AsyncIterator<Uint8Array>,
    filename: string,
    failed: ClientFailure,
    emptyIsFine = false,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const { maxFileSize } = this.limits;
    let size = 0;
    let done = false;
    try {
      for (;;) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await this.deadline.wait(source.next());
        } catch (error) {
          throw error instanceof UploadError ? error : failed(error);
        }
        if (step.done === true) break;
        size += step.value.byteLength;
        if (size > maxFileSize) throw tooLarge(filename, maxFileSize);
        yield step.value;
      }
      done = true;
      if (size === 0 && !emptyIsFine) throw empty(filename);
    } catch (error) {
      throw error instanceof UploadError ? this.fail(error) : error;
    } finally {
      // A source left half-read is dropped; the request's body is discarded with the answer.
      if (!done) source.return?.().catch(() => {});
    }
  }
}

export function tooLarge(filename: string, maxFileSize: number): UploadError {
  return new UploadError(
    'BREAKWATER_UPLOAD_TOO_LARGE',
    `The file ${show(filename)} is larger than ${maxFileSize} bytes (limits.maxFileSize): it was not scanned`,
  );
}

function empty(filename: string): UploadError {
  return new UploadError(
    'BREAKWATER_UPLOAD_EMPTY',
    `The file ${show(filename)} is empty (0 bytes): there is nothing to scan, so nothing can vouch for it`,
  );
}

function stopped(reason: unknown): UploadError {
  if (reason instanceof ClientGoneError) {
    return new UploadError(
      'BREAKWATER_UPLOAD_CLIENT_GONE',
      'The client closed the connection while its files were scanned: the scan was cancelled, nothing was kept',
      { cause: reason },
    );
  }
  return new UploadError(
    'BREAKWATER_UPLOAD_SHUTTING_DOWN',
    'The gateway is shutting down: the scan was cancelled and nothing was kept; send the upload again',
    { cause: reason, retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS },
  );
}

export function incomplete(cause: unknown): UploadError {
  return new UploadError(
    'BREAKWATER_UPLOAD_INCOMPLETE',
    'The request body stopped before its end (the client closed the connection, sent less than it announced, or the form ends before its closing boundary): nothing was kept; send the whole file again',
    { cause },
  );
}
