import type { Secret } from '../config/types.js';
import { nextSample, type Sample } from './samples.js';
import { outcomesOf, type UploadTally } from './tally.js';

/** Uploads started per second unless told otherwise: a pace a person can follow on the dashboard. */
export const UPLOADS_PER_SECOND = 4;

/** Someone the traffic uploads as. */
export interface Uploader {
  readonly name: string;
  readonly token: Secret;
}

export interface TrafficOptions {
  /** The gateway: `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly tenant: string;
  /** Who uploads, in turn. */
  readonly users: readonly Uploader[];
  readonly tally: UploadTally;
  /** Uploads started per second. Default {@link UPLOADS_PER_SECOND}. */
  readonly perSecond?: number | undefined;
  /** Uploads in flight at most; a tick that finds this many waiting starts none. Default 4. */
  readonly concurrency?: number | undefined;
  /** An upload unanswered this long counts as failed. Default 15 000 ms. */
  readonly timeoutMs?: number | undefined;
  /** The files to upload. Default {@link nextSample}. */
  readonly samples?: (() => Sample) | undefined;
}

export interface Traffic {
  /** Uploads started so far. */
  readonly started: number;
  /** Uploads as `user` too, in turn with the others, from now on. */
  add(user: Uploader): void;
  /** Stops starting uploads and ends those in flight; they are not counted. */
  stop(): Promise<void>;
}

/**
 * Uploads files to the gateway at a steady pace, as each user in turn, each file as the raw
 * body with `X-Filename`, and counts every answer in `tally`.
 */
export function startTraffic(options: TrafficOptions): Traffic {
  const { url, tenant, tally } = options;
  const users = [...options.users];
  const perSecond = options.perSecond ?? UPLOADS_PER_SECOND;
  const concurrency = options.concurrency ?? 4;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const samples = options.samples ?? nextSample;
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const endpoint = `${url}/v1/tenants/${encodeURIComponent(tenant)}/scans`;
  for (const user of users) tally.add(user.name);
  let started = 0;

  const upload = async (user: Uploader, sample: Sample): Promise<void> => {
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(timeoutMs)]);
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${user.token.reveal()}`,
          'content-type': 'application/octet-stream',
          'x-filename': sample.filename,
        },
        body: sample.bytes,
        signal,
      });
      const body: unknown = await response.json().catch(() => undefined);
      if (!stopping.signal.aborted) tally.record(user.name, outcomesOf(response.status, body));
    } catch {
      // Refused, reset or timed out: the gateway did not answer. Ended by stop(): not counted.
      if (!stopping.signal.aborted) tally.record(user.name, ['failed']);
    }
  };

  const tick = (): void => {
    if (inFlight.size >= concurrency || users.length === 0) return;
    const user = users[started % users.length] as (typeof users)[number];
    started++;
    const running = upload(user, samples()).finally(() => inFlight.delete(running));
    inFlight.add(running);
  };

  const timer = setInterval(tick, 1_000 / perSecond);
  tick();
  return {
    get started() {
      return started;
    },
    add(user) {
      tally.add(user.name);
      users.push(user);
    },
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await Promise.all(inFlight);
    },
  };
}
