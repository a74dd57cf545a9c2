import {
  type BreakerRegistry,
  type CircuitBreaker,
  type Clock,
  classifyError,
  type Logger,
  type TryResult,
  untilAborted,
} from '@breakwater/core';
import { describeValue, rejectUnknownKeys, requireObject } from '@breakwater/core/validate';
import { requireBoolean, requireBooleans } from './answer-error.js';
import { checkKey } from './cache-key.js';
import type { DecisionCache } from './decision-cache.js';
import {
  CACHE_ALLOWED,
  CACHE_DENIED,
  FallbackDecisions,
  SPICEDB_ALLOWED,
  SPICEDB_DENIED,
} from './decisions.js';
import { AuthorizationRequestError, ForbiddenError, UnauthenticatedError } from './errors.js';
import {
  type AuthorizationEventName,
  type AuthorizationListener,
  AuthorizationListeners,
} from './events.js';
import { ignoreRejection } from './fallback.js';
import {
  type AuthorizationServiceOptions,
  isRequestError,
  resolveServiceOptions,
} from './service-options.js';
import { type AuthorizationStats, StatsCounters } from './stats.js';
import type {
  CheckRequest,
  Consistency,
  Decision,
  FallbackDecider,
  FallbackReason,
  PermissionChecker,
} from './types.js';
import { validateCheckRequest } from './validate-request.js';

/** A check as the caller asks it: the request, and a signal that gives up waiting for it. */
export interface CheckInput extends CheckRequest {
  /** Aborting rejects this caller's check with the signal's reason, at once. */
  readonly signal?: AbortSignal | undefined;
}

export interface CheckManyOptions {
  /** Aborting rejects the whole `checkMany` with the signal's reason and cancels its bulk call. */
  signal?: AbortSignal | undefined;
}

type Answer<V> = TryResult<V>;

/** A shared call, and the cache generation it began in: only checks made in it may join. */
interface InFlight {
  readonly generation: number;
  readonly answer: Promise<Answer<boolean>>;
}

// Shared by every cache hit: a hit allocates nothing, not even its promise.
const CACHE_ALLOWED_RESULT = Promise.resolve(CACHE_ALLOWED);
const CACHE_DENIED_RESULT = Promise.resolve(CACHE_DENIED);
const EVENTS: ReadonlySet<string> = new Set(['decision', 'fallback', 'backendError']);
const CHECK_MANY_KEYS: ReadonlySet<string> = new Set(['signal']);
const OWNER = 'AuthorizationService';
/** In `checkMany`, the place of a check the cache answered: it is in no backend call. */
const CACHED = -1;

/**
 * Permission checks through a circuit breaker, with a decision cache and a fallback strategy
 * that denies unless told otherwise. Every decision says where it came from: the cache, SpiceDB
 * (or whatever the checker asks), or the fallback, with the reason and the strategy.
 */
export class AuthorizationService {
  /** The breaker every backend call goes through (named `spicedb` unless `breaker.name` says). */
  readonly breaker: CircuitBreaker;
  readonly cache: DecisionCache | undefined;
  readonly fallback: FallbackDecider;

  private readonly checker: PermissionChecker;
  /** A check asking no consistency gets the checker's default: cacheable only if that is. */
  private readonly cacheableByDefault: boolean;
  private readonly counts: (error: unknown) => boolean;
  private readonly timeout: number;
  private readonly registry: BreakerRegistry | undefined;
  private readonly logger: Logger | undefined;
  private readonly clock: Clock;
  private readonly fallbackDecisions: FallbackDecisions;
  private readonly counters = new StatsCounters();
  private readonly listeners: AuthorizationListeners;
  /** Calls under way for cacheable checks, by `checkKey`: identical checks join them. */
  private readonly inflight = new Map<string, InFlight>();
  private registered = false;
  /** Said once per run of refused credentials: every check would say it again. */
  private configurationLogged = false;
  /** Said once per run of a misbehaving fallback strategy, for the same reason. */
  private fallbackProblemLogged = false;

  constructor(options: AuthorizationServiceOptions) {
    const parts = resolveServiceOptions(options);
    this.checker = parts.checker;
    this.cacheableByDefault = parts.cacheableByDefault;
    this.breaker = parts.breaker;
    this.counts = parts.counts;
    this.timeout = parts.timeout;
    this.fallback = parts.fallback;
    this.cache = parts.cache;
    this.registry = parts.registry;
    this.logger = parts.logger;
    this.clock = parts.clock;
    this.fallbackDecisions = new FallbackDecisions(parts.fallback.name);
    this.listeners = new AuthorizationListeners((error, event) =>
      this.log('error', { err: error, event }, `an authorization "${event}" listener threw`),
    );
    if (parts.registry !== undefined) {
      parts.registry.register(this.breaker.name, this.breaker, {
        criticality: parts.criticality,
      });
      this.registered = true;
    }
  }

  /** May `subject` do `permission` on `resource`? Rejects only for a malformed check or an abort. */
  check(input: CheckInput): Promise<Decision> {
    const cache = this.cache;
    // The lookup comes before validation: only validated checks are ever stored, so a hit
    // proves the three strings are valid, and the hot path skips the patterns. Each field is
    // read once, so what was looked up is what is announced, whatever getters the input has.
    if (cache !== undefined && typeof input === 'object' && input !== null) {
      const { subject, resource, permission, consistency, signal } = input;
      if (
        typeof subject === 'string' &&
        typeof resource === 'string' &&
        typeof permission === 'string' &&
        (consistency === undefined
          ? this.cacheableByDefault
          : consistency === 'minimize_latency') &&
        (signal === undefined || (signal instanceof AbortSignal && !signal.aborted))
      ) {
        const listening = this.listeners.has('decision');
        const started = listening ? this.clock.now() : 0;
        const allowed = cache.getTuple(subject, resource, permission);
        if (allowed !== undefined) {
          this.counters.decided('cache', allowed);
          if (listening)
            this.emitDecision(
              frozenRequest(subject, resource, permission, consistency),
              allowed ? CACHE_ALLOWED : CACHE_DENIED,
              this.clock.now() - started,
            );
          return allowed ? CACHE_ALLOWED_RESULT : CACHE_DENIED_RESULT;
        }
      }
    }
    return this.checkUncached(input);
  }

  /**
   * Resolves with the decision when it allows; throws {@link ForbiddenError} (carrying the
   * decision) when it denies, and {@link UnauthenticatedError} first of all when there is no
   * subject: nobody signed in is not a question for SpiceDB.
   */
  async require(input: CheckInput): Promise<Decision> {
    const subject: unknown =
      typeof input === 'object' && input !== null
        ? (input as { subject?: unknown }).subject
        : undefined;
    if (subject === undefined || subject === null || subject === '')
      throw new UnauthenticatedError();
    // Each field read once, and validated as check() would: the check decided and the one
    // ForbiddenError names are the same.
    const { resource, permission, consistency, signal } = input;
    const req = this.validated({ subject, resource, permission, consistency }, undefined);
    const decision = await this.check(signal === undefined ? req : { ...req, signal });
    if (!decision.allowed) throw new ForbiddenError(req, decision);
    return decision;
  }

  /**
   * Many checks, decisions in the order asked: cached ones from the cache, the rest (identical
   * ones once) in one bulk backend call. Every check is validated first; a malformed one rejects
   * the lot, naming `checks[i]`, before any lookup. A batch that rejects (malformed, refused by
   * SpiceDB, aborted) decides nothing: no check in it is counted or announced, cached ones
   * included. A cached decision's `durationMs` runs to its lookup, the others' to the answer.
   */
  async checkMany(
    inputs: readonly CheckInput[],
    options: CheckManyOptions = {},
  ): Promise<Decision[]> {
    const started = this.clock.now();
    const signal = checkManyOptions(options);
    if (!Array.isArray(inputs)) {
      this.counters.requestErrors++;
      throw new AuthorizationRequestError(
        'request',
        `checkMany(checks) needs an array of checks, got ${describeValue(inputs)}`,
      );
    }
    // Indexed, not map(): map skips holes, and a hole is a malformed check like any other.
    const reqs = new Array<CheckRequest>(inputs.length);
    for (let i = 0; i < inputs.length; i++) reqs[i] = this.validated(inputs[i], `checks[${i}]`);
    signal?.throwIfAborted();

    const cache = this.cache;
    const generation = cache === undefined ? 0 : cache.generation;
    const decisions = new Array<Decision>(reqs.length);
    /** For each check, its place in `asked`, or CACHED when `decisions` holds the cache's. */
    const askedAt = new Array<number>(reqs.length);
    const asked: CheckRequest[] = [];
    const byKey = new Map<string, number>();
    for (let i = 0; i < reqs.length; i++) {
      const req = reqs[i] as CheckRequest;
      if (this.cacheable(req)) {
        const allowed = cache?.get(req);
        if (allowed !== undefined) {
          decisions[i] = allowed ? CACHE_ALLOWED : CACHE_DENIED;
          askedAt[i] = CACHED;
          continue;
        }
        const key = checkKey(req);
        const at = byKey.get(key);
        if (at !== undefined) {
          askedAt[i] = at;
          continue;
        }
        byKey.set(key, asked.length);
      }
      askedAt[i] = asked.length;
      asked.push(req);
    }
    const lookedUp = this.clock.now();

    let answer: Answer<boolean[]> | undefined;
    if (asked.length > 0) {
      answer = await this.call(asked, this.bulkOperation(asked), signal);
      if (answer.ok) {
        for (let j = 0; j < asked.length; j++)
          this.remember(asked[j] as CheckRequest, answer.value[j] as boolean, lookedUp, generation);
      } else if (!answer.rejected) {
        this.throwIfNoFallback(inCallersTerms(answer.error, askedAt), signal);
      }
    }
    // Only now is the batch sure to resolve: a batch that rejects decides, counts and announces
    // nothing, its cached checks included. Each check is decided on its own, duplicates too.
    for (let i = 0; i < reqs.length; i++) {
      const req = reqs[i] as CheckRequest;
      const j = askedAt[i] as number;
      if (j === CACHED) {
        const decision = decisions[i] as Decision;
        this.counters.decided('cache', decision.allowed);
        if (this.listeners.has('decision')) this.emitDecision(req, decision, lookedUp - started);
      } else if (answer?.ok === true) {
        const allowed = answer.value[j] as boolean;
        decisions[i] = this.decided(req, allowed ? SPICEDB_ALLOWED : SPICEDB_DENIED, started);
      } else {
        decisions[i] = this.answered(req, answer as Answer<never>, started, signal);
      }
    }
    return decisions;
  }

  /** Subscribes to `decision`, `fallback` or `backendError`; returns the function that unsubscribes. */
  on<E extends AuthorizationEventName>(event: E, listener: AuthorizationListener<E>): () => void {
    if (!EVENTS.has(event)) {
      throw new TypeError(
        `${OWNER}: on(event) takes "decision", "fallback" or "backendError", got ${describeValue(event)}`,
      );
    }
    if (typeof listener !== 'function') {
      throw new TypeError(
        `${OWNER}: on("${event}", listener) needs a function, got ${describeValue(listener)}`,
      );
    }
    return this.listeners.on(event, listener);
  }

  /** Counters since construction; the checks by source add up to every decision made. */
  stats(): AuthorizationStats {
    return this.counters.snapshot(this.fallback.name, this.cache?.stats());
  }

  /**
   * Whether the backend answers at all: the checker's own health call, around the breaker (a
   * health probe must see the backend, not the breaker's opinion of it), within the breaker's
   * per-call `timeout`. Rejects with why not.
   */
  health(signal?: AbortSignal): Promise<void> {
    checkSignal('health(signal)', signal);
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const controller = new AbortController();
      const clock = this.clock;
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        if (clock.clearTimeout !== undefined) clock.clearTimeout(timer);
        else clearTimeout(timer as ReturnType<typeof setTimeout>);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = (): void => {
        if (!finish()) return;
        controller.abort(signal?.reason);
        reject(signal?.reason);
      };
      const onTimeout = (): void => {
        if (!finish()) return;
        const error = new DOMException(
          `the SpiceDB health check got no answer within ${this.timeout} ms`,
          'TimeoutError',
        );
        controller.abort(error);
        reject(error);
      };
      const timer: unknown =
        clock.setTimeout !== undefined
          ? clock.setTimeout(onTimeout, this.timeout)
          : setTimeout(onTimeout, this.timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
      new Promise<void>((ask) => ask(this.checker.health(controller.signal))).then(
        () => {
          if (finish()) resolve();
        },
        (error: unknown) => {
          if (finish()) reject(error);
        },
      );
    });
  }

  /**
   * Takes the breaker out of the registry (when the service put it there) and drops the
   * listeners. The checker is the caller's: it is not closed.
   */
  close(): void {
    this.listeners.clear();
    if (!this.registered) return;
    this.registered = false;
    this.registry?.delete(this.breaker.name);
  }

  private async checkUncached(input: CheckInput): Promise<Decision> {
    const started = this.clock.now();
    const req = this.validated(input, undefined);
    const signal = input.signal;
    checkSignal('check({ signal })', signal);
    signal?.throwIfAborted();
    const cache = this.cache;
    const generation = cache === undefined ? 0 : cache.generation;
    if (!this.cacheable(req)) {
      // Not shared: a call already under way may have started before this caller's write.
      const answer = await this.call([req], this.singleOperation(req), signal);
      if (answer.ok) this.remember(req, answer.value, started, generation);
      return this.answered(req, answer, started, signal);
    }
    const key = checkKey(req);
    let shared = this.inflight.get(key);
    // A call begun before an invalidation may answer from before the change it announced.
    if (shared === undefined || shared.generation !== generation) {
      const call: InFlight = {
        generation,
        // Shared, so it runs without any one caller's signal: only the breaker's timeout ends it.
        answer: this.call([req], this.singleOperation(req), undefined).then((answer) => {
          try {
            if (answer.ok) this.remember(req, answer.value, started, generation);
          } finally {
            // Whatever happened above, the slot goes, or every later check would join this one.
            // A newer call for the same check may have taken it: that one stays shared.
            if (this.inflight.get(key) === call) this.inflight.delete(key);
          }
          return answer;
        }),
      };
      this.inflight.set(key, call);
      shared = call;
    }
    const pending = shared.answer;
    const answer = signal === undefined ? await pending : await untilAborted(pending, signal);
    return this.answered(req, answer, started, signal);
  }

  /**
   * A frozen copy of the check, validated: what the checker is asked and listeners are told, so
   * a caller changing its object later (or a getter answering differently) changes nothing.
   */
  private validated(input: unknown, where: string | undefined): CheckRequest {
    try {
      if (typeof input !== 'object' || input === null || Array.isArray(input))
        validateCheckRequest(input, where);
      const { subject, resource, permission, consistency } = input as CheckRequest;
      // Validated before the consistency is copied, so an unknown key in it is still refused.
      validateCheckRequest({ subject, resource, permission, consistency }, where);
      const req = frozenRequest(subject, resource, permission, consistency);
      // The token was read again to copy it: check what was copied.
      if (typeof consistency === 'object') validateCheckRequest(req, where);
      return req;
    } catch (error) {
      this.counters.requestErrors++;
      throw error;
    }
  }

  /** Whether the cache may answer `req` and identical checks may share a call. */
  private cacheable(req: CheckRequest): boolean {
    const consistency = req.consistency;
    return consistency === undefined ? this.cacheableByDefault : consistency === 'minimize_latency';
  }

  /**
   * Puts SpiceDB's answer to `req`, asked at `askedAt` in cache generation `generation`, in the
   * cache. Any deny removes an allow asked no later, whatever consistency it was asked at and
   * whatever was invalidated since: a fresher answer says no. Only a cacheable check asked in
   * the current generation stores a decision (one begun before an invalidation may predate the
   * change it announced).
   */
  private remember(req: CheckRequest, allowed: boolean, askedAt: number, generation: number): void {
    const cache = this.cache;
    if (cache === undefined) return;
    try {
      if (this.cacheable(req) && cache.generation === generation) cache.set(req, allowed, askedAt);
      else if (!allowed) cache.forget(req, askedAt);
    } catch (error) {
      // A cache passed in may be anything that extends DecisionCache: its failure to store
      // costs a later backend call, never this decision.
      this.log(
        'error',
        { err: error },
        'the decision cache could not store an answer; it is not cached',
      );
    }
  }

  private singleOperation(req: CheckRequest): (signal: AbortSignal) => Promise<boolean> {
    const checker = this.checker;
    return (signal) => Promise.resolve(checker.check(req, signal)).then(requireBoolean);
  }

  private bulkOperation(
    reqs: readonly CheckRequest[],
  ): (signal: AbortSignal) => Promise<boolean[]> {
    const checker = this.checker;
    if (checker.checkMany !== undefined) {
      return (signal) =>
        Promise.resolve(
          (checker.checkMany as NonNullable<PermissionChecker['checkMany']>).call(
            checker,
            reqs,
            signal,
          ),
        ).then((values) => requireBooleans(values, reqs.length));
    }
    return (signal) =>
      Promise.all(
        reqs.map((req) => Promise.resolve(checker.check(req, signal)).then(requireBoolean)),
      );
  }

  /** One backend call through the breaker, counted and reported once whoever waits on it. */
  private call<V>(
    reqs: readonly CheckRequest[],
    operation: (signal: AbortSignal) => Promise<V>,
    signal: AbortSignal | undefined,
  ): Promise<Answer<V>> {
    const started = this.clock.now();
    return this.breaker.tryExecute(operation, signal).then((answer) => {
      if (answer.ok) {
        this.counters.backendCall(this.clock.now() - started, false);
        this.configurationLogged = false;
      } else if (
        !answer.rejected &&
        !(signal?.aborted === true && answer.error === signal.reason)
      ) {
        const refused = isRequestError(answer.error);
        this.counters.backendCall(this.clock.now() - started, !refused);
        // A refused question is SpiceDB answering: our credentials work.
        if (refused) this.configurationLogged = false;
        else {
          try {
            this.backendFailed(reqs, answer.error);
          } catch (problem) {
            // An error that throws when read (a Proxy, a getter) is still a failed call: what
            // threw stands in for it, so every caller gets the fallback and nobody hangs.
            return { ok: false, rejected: false, error: problem } as const;
          }
        }
      }
      return answer;
    });
  }

  private backendFailed(reqs: readonly CheckRequest[], error: unknown): void {
    const configuration =
      typeof error === 'object' &&
      error !== null &&
      (error as { configuration?: unknown }).configuration === true;
    if (configuration && !this.configurationLogged) {
      this.configurationLogged = true;
      const grpcStatus = (error as { grpcStatus?: unknown }).grpcStatus;
      // The status only: the token must never reach a log, and SpiceDB's words could quote it.
      this.log(
        'error',
        { breaker: this.breaker.name, grpcStatus },
        "SpiceDB refused our credentials: check the SpiceDB token (the preshared key) the checker is given; until it is fixed every check gets the fallback strategy's answer",
      );
    }
    if (!this.listeners.has('backendError')) return;
    const category = classifyError(error);
    for (const request of reqs)
      this.listeners.emit('backendError', { request, error, category, configuration });
  }

  /** The decision for `req` from the backend call's outcome, or the reason it must throw. */
  private answered(
    req: CheckRequest,
    answer: Answer<boolean>,
    started: number,
    signal: AbortSignal | undefined,
  ): Decision {
    if (answer.ok)
      return this.decided(req, answer.value ? SPICEDB_ALLOWED : SPICEDB_DENIED, started);
    if (answer.rejected) return this.fellBack(req, 'circuit_open', undefined, started);
    const error = answer.error;
    this.throwIfNoFallback(error, signal);
    return this.fellBack(req, isTimeout(error) ? 'timeout' : 'backend_error', error, started);
  }

  /**
   * Throws a failed call's error when the fallback must not answer for it: the caller's own
   * abort, a refused request (counted as one), or what the failure policy does not count (not
   * an outage: it reaches the caller as it is). Whether the caller aborted is told by its
   * signal, never by the error's category: SpiceDB answers CANCELLED too, to calls nobody
   * aborted, and those are SpiceDB failing to answer.
   */
  private throwIfNoFallback(error: unknown, signal: AbortSignal | undefined): void {
    if (signal?.aborted === true && error === signal.reason) throw error;
    if (isRequestError(error)) {
      this.counters.requestErrors++;
      throw error;
    }
    if (!this.countedByBreaker(error)) throw error;
  }

  /** The failure policy's verdict; a policy that throws counted the error, as in the breaker. */
  private countedByBreaker(error: unknown): boolean {
    try {
      return this.counts(error);
    } catch {
      // The breaker has logged it already ("the failure policy threw"), once per error.
      return true;
    }
  }

  private fellBack(
    req: CheckRequest,
    reason: FallbackReason,
    error: unknown,
    started: number,
  ): Decision {
    const decision = this.fallbackDecisions.get(reason, this.askFallback(req, reason, error));
    this.counters.fellBack(reason);
    if (this.listeners.has('fallback')) {
      this.listeners.emit(
        'fallback',
        error === undefined
          ? { request: req, decision, reason }
          : { request: req, decision, reason, error },
      );
    }
    return this.decided(req, decision, started);
  }

  /** The strategy's verdict; one that throws or answers anything but a boolean denies. */
  private askFallback(req: CheckRequest, reason: FallbackReason, error: unknown): boolean {
    const fallback = this.fallback;
    // A check that demanded fresh data gets no cached decision, not even an expired one.
    const cached = this.cacheable(req) ? this.cache?.getStale(req) : undefined;
    let verdict: unknown;
    try {
      verdict = fallback.decide(req, { reason, error, cached });
    } catch (problem) {
      this.fallbackProblem({ err: problem }, `the fallback strategy "${fallback.name}" threw`);
      return false;
    }
    if (typeof verdict !== 'boolean') {
      ignoreRejection(verdict);
      this.fallbackProblem(
        { verdict: describeValue(verdict) },
        `the fallback strategy "${fallback.name}" answered ${describeValue(verdict)}, not a boolean`,
      );
      return false;
    }
    this.fallbackProblemLogged = false;
    return verdict;
  }

  private fallbackProblem(fields: Record<string, unknown>, message: string): void {
    if (this.fallbackProblemLogged) return;
    this.fallbackProblemLogged = true;
    this.log(
      'error',
      { ...fields, strategy: this.fallback.name },
      `${message}; checks it decides are denied`,
    );
  }

  /** Counts and announces a decision made now. */
  private decided(req: CheckRequest, decision: Decision, started: number): Decision {
    this.counters.decided(decision.source, decision.allowed);
    if (this.listeners.has('decision'))
      this.emitDecision(req, decision, this.clock.now() - started);
    return decision;
  }

  private emitDecision(request: CheckRequest, decision: Decision, durationMs: number): void {
    this.listeners.emit('decision', { request, decision, durationMs });
  }

  /** Logging that never breaks a check; without a logger, problems still reach the console. */
  private log(level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    const logger = this.logger;
    if (logger === undefined) {
      console.error(`${OWNER}: ${message}`, fields);
      return;
    }
    try {
      logger[level](fields, message);
    } catch (loggerError) {
      console.error(`${OWNER}: the logger threw while logging "${message}"`, loggerError);
    }
  }
}

/** A frozen check of these values; a token consistency is copied and frozen too. */
function frozenRequest(
  subject: string,
  resource: string,
  permission: string,
  consistency: Consistency | undefined,
): CheckRequest {
  if (consistency === undefined) return Object.freeze({ subject, resource, permission });
  const own: Consistency =
    typeof consistency === 'object'
      ? Object.freeze({ atLeastAsFresh: consistency.atLeastAsFresh })
      : consistency;
  return Object.freeze({ subject, resource, permission, consistency: own });
}

/** A timeout by its category; an error whose fields throw when read is no timeout. */
function isTimeout(error: unknown): boolean {
  try {
    return classifyError(error) === 'timeout';
  } catch {
    return false;
  }
}

function checkSignal(where: string, signal: unknown): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${OWNER}: ${where} needs an AbortSignal, got ${describeValue(signal)}`);
  }
}

/**
 * A refusal of one check of the bulk call, renamed for the caller: the call carried only the
 * checks the cache could not answer, so its index is not the caller's. `askedAt[i]` is check i's
 * place in the call.
 */
function inCallersTerms(error: unknown, askedAt: readonly number[]): unknown {
  if (!(error instanceof AuthorizationRequestError) || error.item === undefined) return error;
  const i = askedAt.indexOf(error.item);
  if (i < 0) return error;
  const sent =
    i === error.item
      ? ''
      : ` (sent as check ${error.item}: the call carries only what the cache could not answer)`;
  return new AuthorizationRequestError(error.field, `checks[${i}]${sent}: ${error.message}`, {
    cause: error,
    item: i,
  });
}

function checkManyOptions(options: CheckManyOptions): AbortSignal | undefined {
  requireObject(`${OWNER}.checkMany`, options);
  rejectUnknownKeys(`${OWNER}.checkMany`, options, CHECK_MANY_KEYS);
  checkSignal('checkMany(checks, { signal })', options.signal);
  return options.signal;
}
