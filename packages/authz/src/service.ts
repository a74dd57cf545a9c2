import {
  type BreakerRegistry,
  type CircuitBreaker,
  type Clock,
  classifyError,
  type Logger,
  untilAborted,
} from '@breakwater/core';
import { describeValue, rejectUnknownKeys, requireObject } from '@breakwater/core/validate';
import { requireBoolean, requireBooleans } from './answer-error.js';
import { checkKey } from './cache-key.js';
import type { DecisionCache, DecisionTicket } from './decision-cache.js';
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

/** A backend call that did not answer; `counted` is the breaker's verdict on its error. */
type Failure =
  | { readonly ok: false; readonly rejected: true }
  | {
      readonly ok: false;
      readonly rejected: false;
      readonly error: unknown;
      readonly counted: boolean;
    };

/** A backend call's outcome. */
type Answer<V> = { readonly ok: true; readonly value: V } | Failure;

/** A shared call, and its cache ticket: checks may join it while the cache holds it current. */
interface InFlight {
  readonly ticket: DecisionTicket | undefined;
  readonly answer: Promise<Answer<boolean>>;
}

// Shared by every cache hit: the service allocates nothing for a hit, not even its promise. (The
// clock may: Date.now() returns a heap number on Node 20, about 16 bytes a hit with the default
// clock, and a clock returning small integers allocates nothing.)
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

  /**
   * May `subject` do `permission` on `resource`? Rejects only for a malformed check or an abort,
   * and never throws: whatever goes wrong, the answer is a promise.
   */
  check(input: CheckInput): Promise<Decision> {
    try {
      if (typeof input !== 'object' || input === null) validateCheckRequest(input);
      // Each field read once, so what was looked up is what is decided and announced.
      const { subject, resource, permission, consistency, signal } = input;
      // The lookup comes before validation: only validated checks are ever stored, so a hit
      // proves the three strings are valid, and the hot path skips the patterns.
      const hit = this.fromCache(subject, resource, permission, consistency, signal, undefined);
      if (hit !== undefined) return hit;
      if (Array.isArray(input)) validateCheckRequest(input);
      return this.decide(this.validated(subject, resource, permission, consistency), signal);
    } catch (error) {
      this.counters.requestErrors++;
      return Promise.reject(error);
    }
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
    let req: CheckRequest;
    let signal: AbortSignal | undefined;
    try {
      // Each field read once: the check decided and the one ForbiddenError names are the same.
      const { resource, permission, consistency, signal: own } = input;
      signal = own;
      req = this.validated(subject, resource, permission, consistency);
    } catch (error) {
      this.counters.requestErrors++;
      throw error;
    }
    const decision = await (this.fromCache(
      req.subject,
      req.resource,
      req.permission,
      req.consistency,
      signal,
      req,
    ) ?? this.decide(req, signal));
    if (!decision.allowed) throw new ForbiddenError(req, decision);
    return decision;
  }

  /**
   * Many checks, decisions in the order asked: cached ones from the cache, the rest (identical
   * ones once) in one bulk backend call. Every check is validated first; a malformed one rejects
   * the lot, naming `checks[i]`, before any lookup; so does a check carrying its own `signal`
   * (the batch takes one, in `options`). A batch that rejects (malformed, refused by
   * SpiceDB, aborted) decides nothing: no check in it is counted or announced, cached ones
   * included. A cached decision's `durationMs` runs to its lookup, the others' to the answer.
   */
  async checkMany(
    inputs: readonly CheckRequest[],
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
    for (let i = 0; i < inputs.length; i++) reqs[i] = this.validatedItem(inputs[i], i);
    signal?.throwIfAborted();

    const cache = this.cache;
    const decisions = new Array<Decision>(reqs.length);
    /** For each check, its place in `asked`, or CACHED when `decisions` holds the cache's. */
    const placeOf = new Array<number>(reqs.length);
    const asked: CheckRequest[] = [];
    const byKey = new Map<string, number>();
    // Counted only once the batch is sure to resolve: a batch that rejects decides nothing.
    let hits = 0;
    let misses = 0;
    for (let i = 0; i < reqs.length; i++) {
      const req = reqs[i] as CheckRequest;
      if (this.cacheable(req)) {
        const allowed =
          cache === undefined
            ? undefined
            : this.lookUp(cache, req.subject, req.resource, req.permission, false);
        if (allowed !== undefined) {
          hits++;
          decisions[i] = allowed ? CACHE_ALLOWED : CACHE_DENIED;
          placeOf[i] = CACHED;
          continue;
        }
        misses++;
        const key = checkKey(req);
        const at = byKey.get(key);
        if (at !== undefined) {
          placeOf[i] = at;
          continue;
        }
        byKey.set(key, asked.length);
      }
      placeOf[i] = asked.length;
      asked.push(req);
    }
    const lookedUp = this.clock.now();

    let answer: Answer<boolean[]> | undefined;
    let reason: FallbackReason = 'circuit_open';
    if (asked.length > 0) {
      const ticket = cache?.begin();
      answer = await this.call(asked, this.bulkOperation(asked), signal);
      if (answer.ok) {
        for (let j = 0; j < asked.length; j++)
          this.remember(asked[j] as CheckRequest, answer.value[j] === true, ticket);
      } else {
        reason = this.fallbackReason(
          answer.rejected ? answer : { ...answer, error: inCallersTerms(answer.error, placeOf) },
          signal,
        );
      }
    }
    // Only now is the batch sure to resolve: a batch that rejects decides, counts and announces
    // nothing, its cached checks included. Each check is decided on its own, duplicates too.
    cache?.countLookups(hits, misses);
    for (let i = 0; i < reqs.length; i++) {
      const req = reqs[i] as CheckRequest;
      const j = placeOf[i] as number;
      if (j === CACHED) {
        const decision = decisions[i] as Decision;
        this.counters.decided('cache', decision.allowed);
        if (this.listeners.has('decision')) this.emitDecision(req, decision, lookedUp - started);
      } else if (answer?.ok === true) {
        const allowed = answer.value[j] === true;
        decisions[i] = this.decided(req, allowed ? SPICEDB_ALLOWED : SPICEDB_DENIED, started);
      } else {
        const failure = answer as Failure;
        const error = failure.rejected ? undefined : failure.error;
        decisions[i] = this.fellBack(req, reason, error, started);
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
    try {
      checkSignal('health(signal)', signal);
    } catch (error) {
      // As check(): a caller awaiting it handles one way of failing, not two.
      return Promise.reject(error);
    }
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

  /**
   * The cache's decision for a check read once (fields not validated yet: only valid checks are
   * stored), counted and announced, or undefined when the cache may not answer it or has none.
   * `req` is the frozen check when the caller has one already.
   */
  private fromCache(
    subject: string,
    resource: string,
    permission: string,
    consistency: Consistency | undefined,
    signal: AbortSignal | undefined,
    req: CheckRequest | undefined,
  ): Promise<Decision> | undefined {
    const cache = this.cache;
    if (
      cache === undefined ||
      typeof subject !== 'string' ||
      typeof resource !== 'string' ||
      typeof permission !== 'string' ||
      !cacheableAt(consistency, this.cacheableByDefault) ||
      !(signal === undefined || (signal instanceof AbortSignal && !signal.aborted))
    ) {
      return undefined;
    }
    const listening = this.listeners.has('decision');
    const started = listening ? this.clock.now() : 0;
    // A miss is counted once its check is sure to decide (in answered): an aborted check, or one
    // whose error reaches its caller, decides nothing, so counts nothing, as in checkMany.
    const allowed = this.lookUp(cache, subject, resource, permission, false);
    if (allowed === undefined) return undefined;
    cache.countLookups(1, 0);
    this.counters.decided('cache', allowed);
    if (listening)
      this.emitDecision(
        req ?? frozenHit(subject, resource, permission, consistency),
        allowed ? CACHE_ALLOWED : CACHE_DENIED,
        this.clock.now() - started,
      );
    return allowed ? CACHE_ALLOWED_RESULT : CACHE_DENIED_RESULT;
  }

  /** A cache lookup that cannot fail a check: a cache that throws is a miss, logged. */
  private lookUp(
    cache: DecisionCache,
    subject: string,
    resource: string,
    permission: string,
    count: boolean,
  ): boolean | undefined {
    try {
      return cache.getTuple(subject, resource, permission, count);
    } catch (error) {
      this.log(
        'error',
        { err: error },
        'the decision cache could not look up a decision; the backend decides',
      );
      return undefined;
    }
  }

  /** Frees a shared call's slot; a newer call for the same check may hold it: that one stays. */
  private release(key: string, call: InFlight): void {
    if (this.inflight.get(key) === call) this.inflight.delete(key);
  }

  /** Decides a validated check the cache did not answer. */
  private async decide(req: CheckRequest, signal: AbortSignal | undefined): Promise<Decision> {
    const started = this.clock.now();
    checkSignal('check({ signal })', signal);
    signal?.throwIfAborted();
    const cache = this.cache;
    if (!this.cacheable(req)) {
      // Not shared: a call already under way may have started before this caller's write.
      const ticket = cache?.begin();
      const answer = await this.call([req], this.singleOperation(req), signal);
      if (answer.ok) this.remember(req, answer.value, ticket);
      return this.answered(req, answer, started, signal);
    }
    const key = checkKey(req);
    let shared = this.inflight.get(key);
    // A call begun before an invalidation or a deny may answer from before the change.
    if (
      shared === undefined ||
      (shared.ticket !== undefined && !cache?.isCurrent(shared.ticket, req))
    ) {
      const ticket = cache?.begin();
      const call: InFlight = {
        ticket,
        // Shared, so it runs without any one caller's signal: only the breaker's timeout ends it.
        // Whatever happens, the slot goes, or every later check would join this one: on both
        // paths, since the call's own bookkeeping (a clock read) can reject it.
        answer: this.call([req], this.singleOperation(req), undefined).then(
          (answer) => {
            try {
              if (answer.ok) this.remember(req, answer.value, ticket);
            } finally {
              this.release(key, call);
            }
            return answer;
          },
          (error: unknown) => {
            this.release(key, call);
            throw error;
          },
        ),
      };
      this.inflight.set(key, call);
      shared = call;
    }
    const pending = shared.answer;
    const answer = signal === undefined ? await pending : await untilAborted(pending, signal);
    return this.answered(req, answer, started, signal, cache);
  }

  /**
   * A frozen copy of the check, validated once: what the checker is asked and listeners are
   * told, so a caller changing its object later (or a getter answering differently) changes
   * nothing. A consistency object is copied whole first, so an unknown key in it is refused.
   */
  private validated(
    subject: unknown,
    resource: unknown,
    permission: unknown,
    consistency: unknown,
    where?: string,
  ): CheckRequest {
    const own =
      typeof consistency === 'object' && consistency !== null && !Array.isArray(consistency)
        ? Object.freeze({ ...consistency })
        : consistency;
    const req =
      own === undefined
        ? Object.freeze({ subject, resource, permission })
        : Object.freeze({ subject, resource, permission, consistency: own });
    validateCheckRequest(req, where);
    return req;
  }

  /** Check `i` of a `checkMany`, validated; its own `signal` is refused, not ignored. */
  private validatedItem(input: unknown, i: number): CheckRequest {
    const where = `checks[${i}]`;
    try {
      if (typeof input !== 'object' || input === null || Array.isArray(input))
        validateCheckRequest(input, where);
      const { subject, resource, permission, consistency, signal } = input as CheckInput;
      if (signal !== undefined) {
        throw new AuthorizationRequestError(
          'request',
          `${where}.signal: checkMany takes one signal in its options, checkMany(checks, { signal }), not one per check`,
        );
      }
      return this.validated(subject, resource, permission, consistency, where);
    } catch (error) {
      this.counters.requestErrors++;
      throw error;
    }
  }

  /** Whether the cache may answer `req` and identical checks may share a call. */
  private cacheable(req: CheckRequest): boolean {
    return cacheableAt(req.consistency, this.cacheableByDefault);
  }

  /**
   * Puts SpiceDB's answer to `req`, asked with `ticket`, in the cache, which orders it against
   * every other answer and invalidation. Any deny removes a cached allow, whatever consistency
   * it was asked at; only a cacheable check stores a decision.
   */
  private remember(req: CheckRequest, allowed: boolean, ticket: DecisionTicket | undefined): void {
    const cache = this.cache;
    if (cache === undefined || ticket === undefined) return;
    try {
      if (this.cacheable(req)) cache.set(req, allowed, ticket);
      else if (!allowed) cache.forget(req, ticket);
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

  /**
   * One backend call through the breaker, counted and reported once whoever waits on it. A
   * failure carries the verdict the breaker gave this very call (tryExecute's `counted`).
   */
  private call<V>(
    reqs: readonly CheckRequest[],
    operation: (signal: AbortSignal) => Promise<V>,
    signal: AbortSignal | undefined,
  ): Promise<Answer<V>> {
    const started = this.clock.now();
    return this.breaker.tryExecute(operation, signal).then((answer): Answer<V> => {
      if (answer.ok) {
        this.counters.backendCall(this.clock.now() - started, false);
        this.configurationLogged = false;
        return answer;
      }
      if (answer.rejected) return answer;
      const error = answer.error;
      // The caller's own abort: no failure, and the breaker asked no policy about it.
      if (signal?.aborted === true && error === signal.reason)
        return { ok: false, rejected: false, error, counted: false };
      const refused = isRequestError(error);
      const counted = !refused && answer.counted;
      this.counters.backendCall(this.clock.now() - started, !refused);
      // A refused question is SpiceDB answering: our credentials work.
      if (refused) this.configurationLogged = false;
      else {
        try {
          this.backendFailed(reqs, error);
        } catch (problem) {
          // An error that throws when read (a Proxy, a getter) is still a failed call: what
          // threw stands in for it, so every caller gets the fallback and nobody hangs.
          return { ok: false, rejected: false, error: problem, counted };
        }
      }
      return { ok: false, rejected: false, error, counted };
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

  /**
   * The decision for `req` from the backend call's outcome, or the reason it must throw;
   * `missedIn` is the cache the check missed, its miss counted only once it decides.
   */
  private answered(
    req: CheckRequest,
    answer: Answer<boolean>,
    started: number,
    signal: AbortSignal | undefined,
    missedIn?: DecisionCache,
  ): Decision {
    if (answer.ok) {
      missedIn?.countLookups(0, 1);
      return this.decided(req, answer.value ? SPICEDB_ALLOWED : SPICEDB_DENIED, started);
    }
    const reason = this.fallbackReason(answer, signal);
    missedIn?.countLookups(0, 1);
    return this.fellBack(req, reason, answer.rejected ? undefined : answer.error, started);
  }

  /**
   * Why the fallback answers for a failed call, or throws its error when the fallback must not:
   * the caller's own abort, a refused request (counted as one), or what the breaker did not
   * count (not an outage: it reaches the caller as it is). Whether the caller aborted is told
   * by its signal, never by the error's category: SpiceDB answers CANCELLED too, to calls nobody
   * aborted, and those are SpiceDB failing to answer.
   */
  private fallbackReason(failure: Failure, signal: AbortSignal | undefined): FallbackReason {
    if (failure.rejected) return 'circuit_open';
    const error = failure.error;
    if (signal?.aborted === true && error === signal.reason) throw error;
    if (isRequestError(error)) {
      this.counters.requestErrors++;
      throw error;
    }
    if (!failure.counted) throw error;
    return isTimeout(error) ? 'timeout' : 'backend_error';
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
    const cached = this.cacheable(req) ? this.staleDecision(req) : undefined;
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

  /** The cache's last decision for the fallback; a cache that throws has none (logged). */
  private staleDecision(req: CheckRequest): boolean | undefined {
    try {
      return this.cache?.getStale(req);
    } catch (error) {
      this.log('error', { err: error }, 'the decision cache could not be read for the fallback');
      return undefined;
    }
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

/** A cache hit's check, frozen for its listeners: only a string consistency is ever cacheable. */
function frozenHit(
  subject: string,
  resource: string,
  permission: string,
  consistency: Consistency | undefined,
): CheckRequest {
  return Object.freeze(
    consistency === undefined
      ? { subject, resource, permission }
      : { subject, resource, permission, consistency },
  );
}

/**
 * Whether a check at `consistency` may be answered by the cache and share a call: only at
 * `minimize_latency`; a check asking none takes the checker's default (`byDefault`).
 */
function cacheableAt(consistency: unknown, byDefault: boolean): boolean {
  return consistency === undefined ? byDefault : consistency === 'minimize_latency';
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
 * checks the cache could not answer, so its index is not the caller's. `placeOf[i]` is check i's
 * place in the call.
 */
function inCallersTerms(error: unknown, placeOf: readonly number[]): unknown {
  if (!(error instanceof AuthorizationRequestError) || error.item === undefined) return error;
  const i = placeOf.indexOf(error.item);
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
