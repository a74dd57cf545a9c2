import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  CircuitOpenError,
  type Clock,
  FallbackBehavior as CoreFallback,
  type FallbackInfo,
  systemClock,
  TimeoutError,
} from '@breakwater/core';
import { describeValue } from '@breakwater/core/validate';
import { ScanError, toScanError } from './errors.js';
import type { FileInput } from './input.js';
import { readMetadata } from './metadata.js';
import type { ScanResult } from './result.js';
import { type Scanner, type ScanOptions, scanResult } from './scanner.js';
import { engineTimeout, type OnTimeout, withTimeout } from './timeout.js';

/** What a breaker-wrapped scanner does with a scan its breaker will not run. */
export type ScanFallback =
  | { readonly kind: 'fail_closed' }
  | { readonly kind: 'fail_open' }
  | { readonly kind: 'fallback'; readonly scanner: Scanner };

const FAIL_CLOSED: ScanFallback = Object.freeze({ kind: 'fail_closed' });
const FAIL_OPEN: ScanFallback = Object.freeze({ kind: 'fail_open' });

/** scanbridge's fallbacks, for `withCircuitBreaker(scanner, { fallback })`. */
export const FallbackBehavior = {
  /** The default and the safe choice: rejected scans throw a `circuit_open` ScanError. */
  failClosed(): ScanFallback {
    return FAIL_CLOSED;
  },
  /**
   * Rejected scans return a clean result with `source: 'failopen'` and a warning: files pass
   * unscanned. Pair it with a policy rule on `Condition.sourceEquals('failopen')`.
   */
  failOpen(): ScanFallback {
    return FAIL_OPEN;
  },
  /** Rejected scans go to `scanner` instead. */
  fallback(scanner: Scanner): ScanFallback {
    if (typeof (scanner as Partial<Scanner> | null)?.scan !== 'function') {
      throw new TypeError(
        `FallbackBehavior.fallback(scanner) needs a Scanner, got ${describeValue(scanner)}`,
      );
    }
    return Object.freeze({ kind: 'fallback', scanner });
  },
} as const;

/** The core breaker's options, with scanbridge's fallbacks; `name` defaults to the scanner's. */
export type ScannerBreakerOptions = Omit<CircuitBreakerOptions<never>, 'fallback'> & {
  /** Default `FallbackBehavior.failClosed()`; a core preset's fail-closed is accepted too. */
  fallback?: ScanFallback | ReturnType<typeof CoreFallback.failClosed> | undefined;
};

/** A scanner behind its own breaker. */
export interface BreakerScanner extends Scanner {
  /** The breaker: `state()`, `metrics()`, `forceOpen()`, `on('open', ...)` ... */
  readonly breaker: CircuitBreaker<unknown>;
  /** The scanner it protects. */
  readonly inner: Scanner;
}

/** The core breaker's fallback hands this back instead of running the fallback itself: it needs the input. */
class Declined {
  constructor(readonly info: FallbackInfo) {}
}

function fallbackOf(value: ScannerBreakerOptions['fallback']): ScanFallback {
  if (value === undefined) return FAIL_CLOSED;
  const kind = (value as { kind?: unknown }).kind;
  if (kind === 'fail_closed') return FAIL_CLOSED;
  // The core's fail-open carries a value factory; ours makes the stand-in result itself.
  if (kind === 'fail_open' && !('handler' in value)) return FAIL_OPEN;
  if (
    kind === 'fallback' &&
    typeof (value as { scanner?: { scan?: unknown } }).scanner?.scan === 'function'
  ) {
    return value as ScanFallback;
  }
  throw new TypeError(
    `withCircuitBreaker: option "fallback" must come from scanbridge's FallbackBehavior (failClosed, failOpen, fallback(scanner)), got ${describeValue(value)}`,
  );
}

class CircuitBreakerScanner implements BreakerScanner {
  readonly breaker: CircuitBreaker<Declined>;
  readonly inner: Scanner;
  private readonly fallback: ScanFallback;
  private readonly clock: Clock;
  private readonly timedOut: OnTimeout;

  constructor(scanner: Scanner, options: ScannerBreakerOptions) {
    const { fallback, ...rest } = options;
    this.inner = scanner;
    this.fallback = fallbackOf(fallback);
    this.clock = rest.clock ?? systemClock;
    this.timedOut = engineTimeout(scanner.name);
    const decline = (info: FallbackInfo) => new Declined(info);
    this.breaker = new CircuitBreaker<Declined>({
      name: scanner.name,
      ...rest,
      fallback:
        this.fallback.kind === 'fail_closed'
          ? CoreFallback.failClosed()
          : this.fallback.kind === 'fail_open'
            ? CoreFallback.failOpen(decline)
            : CoreFallback.fallback(decline),
    });
  }

  get name(): string {
    return this.inner.name;
  }

  get maxFileSize(): number | undefined {
    return this.inner.maxFileSize;
  }

  async scan(input: FileInput, options: ScanOptions = {}): Promise<ScanResult> {
    const { signal, timeoutMs, ...rest } = options;
    let result: ScanResult | Declined;
    try {
      result = await this.breaker.execute(
        // The time limit runs inside the breaker, so a slow engine counts as a failure.
        (callSignal) =>
          withTimeout(this.clock, timeoutMs, callSignal, this.timedOut, (scanSignal) =>
            this.inner.scan(input, { ...rest, signal: scanSignal }),
          ),
        signal,
      );
    } catch (error) {
      // The caller's own abort rejects with its reason, whatever that is: still a cancellation.
      if (signal?.aborted === true && error === signal.reason) {
        throw new ScanError('cancelled', `${this.name}: the scan was cancelled`, {
          engine: this.name,
          cause: error,
        });
      }
      throw this.scanError(error);
    }
    return result instanceof Declined ? this.declined(result.info, input, options) : result;
  }

  /** Asks the engine directly: a health probe is neither refused by nor counted in the breaker. */
  healthCheck(): Promise<void> {
    return this.inner.healthCheck();
  }

  async signatureVersion(): Promise<string | undefined> {
    return this.inner.signatureVersion?.();
  }

  private scanError(error: unknown): ScanError {
    if (error instanceof CircuitOpenError) {
      return new ScanError('circuit_open', `${this.name}: ${error.message}`, {
        engine: this.name,
        retryAfter: error.retryAfter,
        cause: error,
      });
    }
    if (error instanceof TimeoutError) {
      return new ScanError('timeout', `${this.name}: scan timed out after ${error.timeoutMs} ms`, {
        engine: this.name,
        cause: error,
      });
    }
    return toScanError(error, this.name);
  }

  private async declined(
    info: FallbackInfo,
    input: FileInput,
    options: ScanOptions,
  ): Promise<ScanResult> {
    if (this.fallback.kind === 'fallback') {
      const alternate = this.fallback.scanner;
      let result: ScanResult;
      try {
        result = await scanWithin(alternate, input, options, this.clock);
      } catch (error) {
        throw toScanError(error, alternate.name);
      }
      return { ...result, details: { ...result.details, fallbackFor: this.name } };
    }
    // Fail open: the file passes unscanned, and everything about the result says so.
    const startedAt = this.clock.now();
    const { timeoutMs, signal } = options;
    const fileMetadata = await withTimeout(
      this.clock,
      timeoutMs,
      signal,
      this.timedOut,
      (readSignal) => readMetadata(input, { ...options, signal: readSignal }),
    );
    return scanResult({
      outcome: { type: 'clean' },
      fileMetadata,
      engine: `${this.name}-failopen`,
      startedAt,
      completedAt: this.clock.now(),
      context: options.context,
      source: 'failopen',
      details: {
        warning: `${this.name} did not scan this file (${whyDeclined(info)}); it was passed as clean because the breaker fails open`,
        reason: info.reason,
      },
    });
  }
}

function whyDeclined(info: FallbackInfo): string {
  switch (info.reason) {
    case 'open':
      return 'its circuit breaker is open';
    case 'half_open_full':
      return 'its circuit breaker is half-open and every probe slot is taken';
    case 'failure':
      return 'the scan failed';
  }
}

/**
 * Puts `scanner` behind its own circuit breaker (the guide's `CircuitBreaker::new(scanner, config)`):
 * `withCircuitBreaker(clamav, { ...presets.strict(), fallback: FallbackBehavior.failOpen() })`.
 */
export function withCircuitBreaker(
  scanner: Scanner,
  options: ScannerBreakerOptions = {},
): BreakerScanner {
  if (typeof (scanner as Partial<Scanner> | null)?.scan !== 'function') {
    throw new TypeError(`withCircuitBreaker: expected a Scanner, got ${describeValue(scanner)}`);
  }
  return new CircuitBreakerScanner(scanner, options);
}

/**
 * Scans within `options.timeoutMs`. A breaker-wrapped scanner applies the limit inside its
 * breaker, where a timeout counts as a failure; any other is raced against a timer here.
 */
export function scanWithin(
  scanner: Scanner,
  input: FileInput,
  options: ScanOptions,
  clock: Clock,
): Promise<ScanResult> {
  if (scanner instanceof CircuitBreakerScanner) return scanner.scan(input, options);
  const { timeoutMs, signal, ...rest } = options;
  return withTimeout(clock, timeoutMs, signal, engineTimeout(scanner.name), (scanSignal) =>
    scanner.scan(input, { ...rest, signal: scanSignal }),
  );
}
