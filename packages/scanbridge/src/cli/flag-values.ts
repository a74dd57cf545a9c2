import { UsageError } from './usage-error.js';

const UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `--max-file-size`: bytes, or a whole number with K, M or G (1024-based; KiB, MiB, GiB too). */
export function byteSize(flag: string, value: string): number {
  const match = /^(\d+)(?:([KMG])(?:iB)?)?$/i.exec(value);
  const bytes =
    match === null ? Number.NaN : Number(match[1]) * (UNITS[(match[2] ?? '').toUpperCase()] ?? 0);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UsageError(
      `${flag} must be a size in bytes, or a whole number with K, M or G (25M, 1G), got ${JSON.stringify(value)}`,
    );
  }
  return bytes;
}

/** A whole number from `min` to `max`, for `--concurrency` and `--timeout`. */
export function wholeNumber(
  flag: string,
  value: string,
  { min, max, unit = '' }: { min: number; max: number; unit?: string },
): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(
      `${flag} must be a whole number${unit} from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}
