import { createHash, timingSafeEqual } from 'node:crypto';
import type { TokenConfig } from '../config/types.js';

/** Who a request comes from, once its token matched. */
export interface Caller {
  /** A SpiceDB subject: `user:alice`. */
  readonly subject: string;
  /** The tenant `POST /api/v1/scan` scans for. */
  readonly tenant: string | undefined;
}

/** Why a request has no caller. */
export type Unauthenticated = 'missing' | 'malformed' | 'unknown';

const BEARER = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i;

/**
 * The configured API tokens, known only by their sha256. A presented token is hashed and
 * compared with every configured hash in constant time, with no early exit and no lookup keyed
 * by the secret, so neither the time taken nor the path through the code says how close a guess
 * came or which entry it matched.
 */
export class CallerTable {
  readonly #entries: readonly TokenConfig[];

  constructor(tokens: readonly TokenConfig[]) {
    this.#entries = tokens;
  }

  /** The caller an `Authorization` header stands for, or why there is none. */
  identify(header: string | undefined): Caller | Unauthenticated {
    if (header === undefined || header.length === 0) return 'missing';
    const match = BEARER.exec(header);
    if (match?.[1] === undefined) return 'malformed';
    const digest = createHash('sha256').update(match[1], 'utf8').digest();
    let found: TokenConfig | undefined;
    for (const entry of this.#entries) {
      // Every entry is compared, whatever matched before: the loop's time does not depend on where.
      const same = timingSafeEqual(digest, entry.sha256);
      if (same && found === undefined) found = entry;
    }
    if (found === undefined) return 'unknown';
    return { subject: found.subject, tenant: found.tenant };
  }
}
