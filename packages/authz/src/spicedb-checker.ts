import { v1 } from '@authzed/authzed-node';
import { MAX_TIMER_MS } from '@breakwater/core';
import {
  describeValue,
  durationAtLeast,
  integerAtLeast,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import { type ClientOptions, status as GrpcStatus, Metadata } from '@grpc/grpc-js';
import { AuthorizationRequestError } from './errors.js';
import { SpiceDbError, type SpiceDbOperation, spiceDbErrorFrom } from './spicedb-error.js';
import { objectReference, subjectReference } from './subject-ref.js';
import type { CheckRequest, Consistency, PermissionChecker } from './types.js';

/**
 * The part of an `@authzed/authzed-node` v1 client the checker uses (callback forms). `promises`
 * is what tells the client `v1.NewClient` returns from its `.promises` view, whose calls cannot
 * be cancelled.
 */
export type SpiceDbClient = Pick<
  v1.ZedClientInterface,
  'checkPermission' | 'checkBulkPermissions' | 'readSchema' | 'close' | 'promises'
>;

interface CommonOptions {
  /** The default for checks that ask none. Default `'minimize_latency'`. */
  consistency?: Consistency | undefined;
  /** ms each call may take: its gRPC deadline. Default 2000. */
  timeout?: number | undefined;
  /**
   * Most checks sent in one CheckBulkPermissions call, 1 to 10000; `checkMany` splits a longer
   * list into calls this size, at most 4 in flight. Default 1000. SpiceDB refuses a call of more
   * than 10,000 items (`maxBulkCheckCount`, a constant in its internal/services/v1/bulkcheck.go
   * that no flag changes), and smaller calls keep one slow batch from holding up the rest.
   */
  maxBulkChecks?: number | undefined;
}

/** Let the checker make (and own) the client. */
export interface SpiceDbEndpointOptions extends CommonOptions {
  /** `host:port` of SpiceDB's gRPC API. */
  endpoint: string;
  /** The preshared key SpiceDB runs with. */
  token: string;
  /** Plaintext gRPC, the token sent unencrypted: only for loopback or a trusted network. Default false (TLS). */
  insecure?: boolean | undefined;
  /**
   * ms between HTTP/2 pings, sent even with no call in flight, so a connection that went silent
   * (host gone, NAT entry dropped) is found and replaced. Default 30000.
   */
  keepaliveTime?: number | undefined;
  /** ms a ping may go unanswered before the connection is dropped and dialled again. Default 10000. */
  keepaliveTimeout?: number | undefined;
  client?: undefined;
}

/** Use a client you made (and close); the checker never closes it. */
export interface SpiceDbClientOptions extends CommonOptions {
  client: SpiceDbClient;
  endpoint?: undefined;
  token?: undefined;
  insecure?: undefined;
  keepaliveTime?: undefined;
  keepaliveTimeout?: undefined;
}

export type SpiceDbCheckerOptions = SpiceDbEndpointOptions | SpiceDbClientOptions;

const OWNER = 'SpiceDbChecker';
const ENDPOINT_KEYS: ReadonlySet<string> = new Set([
  'endpoint',
  'token',
  'insecure',
  'keepaliveTime',
  'keepaliveTimeout',
  'consistency',
  'timeout',
  'maxBulkChecks',
]);
const CLIENT_KEYS: ReadonlySet<string> = new Set([
  'client',
  'consistency',
  'timeout',
  'maxBulkChecks',
]);
const DEFAULT_TIMEOUT = 2_000;
const DEFAULT_MAX_BULK_CHECKS = 1_000;
// SpiceDB's maxBulkCheckCount: a constant, not a flag, so no server takes more in one call.
const SPICEDB_MAX_BULK_CHECKS = 10_000;
// Bulk calls one checkMany keeps in flight: enough to overlap round trips, few enough that one
// caller's long list cannot put its whole length on SpiceDB at once, ahead of everyone else's.
const BULK_CALLS_IN_FLIGHT = 4;
const ENDPOINT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;
// grpc-js refuses other header bytes with a message that quotes the value: check first, quietly.
const TOKEN = /^[\x21-\x7e]+$/;

// grpc-js reconnects only when it sees a connection close, and pings only when told to: a
// connection gone silent (host lost without a FIN, NAT entry dropped, a VIP failing over) would
// stay READY, every call and every half-open probe on it timing out. Pings sent with no call in
// flight find it within 30 + 10 s, inside the breaker's 60 s open period, so the probe dials anew.
// Why 30 s: SpiceDB keeps grpc-go's ping policy (a ping under 5 min after the last, 2 h with no
// call open, is a strike unless the server wrote since; a third strike is GOAWAY too_many_pings) and
// ends each connection after --grpc-max-conn-age, 30 s by default, so an idle connection gets one
// ping and never strikes out. With a longer max age an idle one strikes out after four pings, with
// no call to fail, and grpc-js doubles its interval for that server.
const KEEPALIVE_TIME = 30_000;
const KEEPALIVE_TIMEOUT = 10_000;
const MIN_KEEPALIVE_TIME = 100;

const MINIMIZE_LATENCY: v1.Consistency = Object.freeze({
  requirement: Object.freeze({ oneofKind: 'minimizeLatency', minimizeLatency: true }),
});
const FULLY_CONSISTENT: v1.Consistency = Object.freeze({
  requirement: Object.freeze({ oneofKind: 'fullyConsistent', fullyConsistent: true }),
});
const ONCE = Object.freeze({ once: true });
const READ_SCHEMA: v1.ReadSchemaRequest = Object.freeze({});
const Permissionship = v1.CheckPermissionResponse_Permissionship;
const METHODS = {
  CheckPermission: 'checkPermission',
  CheckBulkPermissions: 'checkBulkPermissions',
  ReadSchema: 'readSchema',
} as const satisfies Record<SpiceDbOperation, keyof SpiceDbClient>;

/** The callback form every unary method of the client shares. */
type UnaryMethod = (
  request: object,
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: unknown, response: unknown) => void,
) => { cancel(): void };

/**
 * Answers permission checks from SpiceDB over gRPC: CheckPermission, CheckBulkPermissions, and
 * ReadSchema as the health probe. Each call carries its own deadline (`timeout`) and is cancelled
 * when its signal aborts. Failures are typed: {@link SpiceDbError} when SpiceDB could not answer,
 * {@link AuthorizationRequestError} when it refused the question.
 */
export class SpiceDbChecker implements PermissionChecker {
  readonly timeout: number;
  readonly maxBulkChecks: number;
  readonly consistency: Consistency;
  /** `host:port`, when the checker made the client. */
  readonly endpoint: string | undefined;
  // Private fields stay out of util.inspect, and the token is never one of them.
  readonly #client: SpiceDbClient;
  readonly #ownsClient: boolean;
  readonly #defaultConsistency: v1.Consistency;
  readonly #redact: (text: string) => string;
  #closed = false;

  constructor(options: SpiceDbCheckerOptions) {
    requireObject(OWNER, options);
    const given = options as unknown as Record<string, unknown>;
    const ownsClient = given.client === undefined;
    rejectUnknownKeys(OWNER, options, ownsClient ? ENDPOINT_KEYS : CLIENT_KEYS);
    this.timeout = timerOption(given, 'timeout', DEFAULT_TIMEOUT, 1);
    this.maxBulkChecks = integerAtLeast(
      OWNER,
      'maxBulkChecks',
      orDefault(given.maxBulkChecks, DEFAULT_MAX_BULK_CHECKS),
      1,
    );
    if (this.maxBulkChecks > SPICEDB_MAX_BULK_CHECKS) {
      throw new RangeError(
        `${OWNER}: option "maxBulkChecks" must be at most ${SPICEDB_MAX_BULK_CHECKS}, the most checks SpiceDB takes in one CheckBulkPermissions call, got ${this.maxBulkChecks}`,
      );
    }
    const consistency = orDefault(given.consistency, 'minimize_latency');
    const problem = consistencyProblem(consistency);
    if (problem !== undefined) throw new TypeError(`${OWNER}: option "consistency" ${problem}`);
    // A copy: the caller's object may change later; the checker's default may not.
    this.consistency =
      typeof consistency === 'string'
        ? (consistency as Consistency)
        : Object.freeze({
            atLeastAsFresh: (consistency as { atLeastAsFresh: string }).atLeastAsFresh,
          });
    this.#defaultConsistency = toV1(this.consistency);
    this.#ownsClient = ownsClient;
    if (ownsClient) {
      const endpoint = checkEndpoint(given.endpoint);
      const token = checkToken(given.token);
      const insecure = orDefault(given.insecure, false);
      if (typeof insecure !== 'boolean') {
        throw new TypeError(
          `${OWNER}: option "insecure" must be a boolean, got ${describeValue(insecure)}`,
        );
      }
      this.endpoint = endpoint;
      this.#client = v1.NewClient(
        token,
        endpoint,
        insecure ? v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS : v1.ClientSecurity.SECURE,
        undefined,
        channelOptions(given),
      );
      this.#redact = (text) => text.split(token).join('[redacted]');
    } else {
      this.endpoint = undefined;
      this.#client = checkClient(given.client);
      this.#redact = unchanged;
    }
  }

  check(req: CheckRequest, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.reject(signal.reason);
    let request: v1.CheckPermissionRequest;
    try {
      request = {
        consistency: this.#consistencyOf(req.consistency),
        resource: objectReference('resource', req.resource),
        permission: req.permission,
        subject: subjectReference(req.subject),
        withTracing: false,
      };
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#send('CheckPermission', request, signal) as Promise<boolean>;
  }

  /**
   * One CheckBulkPermissions call per `maxBulkChecks` checks, at most 4 in flight, answers in the
   * order asked. Every call uses the one consistency that satisfies every check, so a list answers
   * the same however it is split. One call failing fails the whole list and cancels the rest.
   */
  checkMany(reqs: readonly CheckRequest[], signal: AbortSignal): Promise<boolean[]> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (reqs.length === 0) return Promise.resolve([]);
    let items: v1.CheckBulkPermissionsRequestItem[];
    let consistency: v1.Consistency;
    // Every check is built before any is sent: a malformed one fails the list with nothing sent.
    try {
      items = new Array(reqs.length);
      for (let i = 0; i < reqs.length; i++) {
        const req = reqs[i] as CheckRequest;
        items[i] = {
          resource: objectReference('resource', req.resource),
          permission: req.permission,
          subject: subjectReference(req.subject),
        };
      }
      consistency = this.#bulkConsistency(reqs);
    } catch (error) {
      return Promise.reject(error);
    }
    const answers: boolean[] = new Array(reqs.length);
    if (items.length <= this.maxBulkChecks) {
      const request = { consistency, items, withTracing: false };
      return this.#send('CheckBulkPermissions', request, signal, answers) as Promise<boolean[]>;
    }
    return this.#sendInChunks(items, consistency, signal, answers);
  }

  /**
   * ReadSchema: cheap, and it needs our token, so a wrong key shows here too. "No schema written
   * yet" (NOT_FOUND) is SpiceDB answering, so it is healthy.
   */
  health(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return this.#send('ReadSchema', READ_SCHEMA, signal) as Promise<void>;
  }

  /** Closes the client if the checker made it; later calls reject. A given client stays open. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) this.#client.close();
  }

  /**
   * The chunks of `items` as calls of `maxBulkChecks`, up to {@link BULK_CALLS_IN_FLIGHT} at once,
   * each with its own deadline, all under one signal of our own: the caller's abort or the first
   * failure aborts it, which cancels the calls in flight and sends no more.
   */
  #sendInChunks(
    items: readonly v1.CheckBulkPermissionsRequestItem[],
    consistency: v1.Consistency,
    signal: AbortSignal,
    answers: boolean[],
  ): Promise<boolean[]> {
    const size = this.maxBulkChecks;
    const chunks = Math.ceil(items.length / size);
    const batch = new BulkBatch(signal);
    let next = 0;
    const sendNext = async (): Promise<void> => {
      while (next < chunks && !batch.signal.aborted) {
        const offset = next++ * size;
        const request = {
          consistency,
          items: items.slice(offset, offset + size),
          withTracing: false,
        };
        await this.#send('CheckBulkPermissions', request, batch.signal, answers, offset);
      }
    };
    const senders: Promise<void>[] = new Array(Math.min(BULK_CALLS_IN_FLIGHT, chunks));
    for (let i = 0; i < senders.length; i++)
      senders[i] = sendNext().catch((error) => batch.fail(error));
    return Promise.all(senders).then(() => batch.finish(answers));
  }

  /**
   * Makes the call with its own deadline, cancelled if `signal` aborts first. A bulk call writes
   * its answers into `answers` from `offset`, the index of its first check in the whole list.
   */
  #send(
    operation: SpiceDbOperation,
    request: object,
    signal: AbortSignal,
    answers: boolean[] | undefined = undefined,
    offset = 0,
  ): Promise<unknown> {
    if (this.#closed) {
      return Promise.reject(
        new SpiceDbError(
          operation,
          GrpcStatus.UNAVAILABLE,
          `SpiceDB ${operation} not sent: the SpiceDbChecker is closed`,
        ),
      );
    }
    // Called as a method of the client: its proxy finds the service client that serves it.
    const client = this.#client as unknown as Record<keyof SpiceDbClient, UnaryMethod>;
    return new Promise((resolve, reject) => {
      const pending = new PendingCall(
        operation,
        signal,
        resolve,
        reject,
        this.#redact,
        operation === 'CheckBulkPermissions'
          ? (request as v1.CheckBulkPermissionsRequest).items.length
          : 0,
        answers,
        offset,
      );
      signal.addEventListener('abort', pending, ONCE);
      try {
        // Both fresh for each call: grpc-js hands this Metadata to the client's interceptors
        // (which add to it) and these options to its call transformer, before copying either.
        const call = client[METHODS[operation]](
          request,
          new Metadata(),
          { deadline: Date.now() + this.timeout },
          (error, response) => pending.settle(error, response),
        );
        if (typeof (call as { cancel?: unknown } | undefined)?.cancel === 'function') {
          pending.call = call;
        } else {
          // Not SpiceDB failing but a client we cannot drive: an abort could never end its call.
          signal.removeEventListener('abort', pending);
          reject(uncancellable(operation, call));
        }
      } catch (error) {
        pending.settle(error, undefined);
      }
    });
  }

  #consistencyOf(consistency: Consistency | undefined): v1.Consistency {
    if (consistency === undefined) return this.#defaultConsistency;
    if (consistency === 'minimize_latency') return MINIMIZE_LATENCY;
    if (consistency === 'fully_consistent') return FULLY_CONSISTENT;
    // The service validated the request in full; this guard only keeps a malformed one unsent.
    const token = (consistency as { atLeastAsFresh?: unknown } | null)?.atLeastAsFresh;
    if (typeof token !== 'string' || token.length === 0) {
      throw new AuthorizationRequestError(
        'consistency',
        `the check's consistency ${consistencyProblem(consistency)}`,
      );
    }
    return toV1(consistency);
  }

  /**
   * One consistency serves the whole batch: the one they share, else the one that satisfies every
   * item (fully consistent covers any zedtoken; at-least-as-fresh covers minimize-latency).
   */
  #bulkConsistency(reqs: readonly CheckRequest[]): v1.Consistency {
    let chosen = this.#consistencyOf(reqs[0]?.consistency);
    for (let i = 1; i < reqs.length; i++) {
      const next = this.#consistencyOf(reqs[i]?.consistency);
      if (next === chosen || chosen === FULLY_CONSISTENT) continue;
      chosen = stronger(chosen, next);
    }
    return chosen;
  }
}

/**
 * The shared fate of one `checkMany` split into calls: its own signal, aborted when the caller's
 * aborts (with the caller's reason) or when a call fails (with that failure), so the calls still in
 * flight are cancelled and no more are sent. The first reason is the one the caller gets.
 */
class BulkBatch {
  readonly #controller = new AbortController();
  readonly signal = this.#controller.signal;

  constructor(readonly caller: AbortSignal) {
    caller.addEventListener('abort', this, ONCE);
  }

  /** The caller aborted. */
  handleEvent(): void {
    this.#controller.abort(this.caller.reason);
  }

  /** A call failed: the batch fails with the first failure (the caller's reason, if it aborted). */
  fail(reason: unknown): void {
    this.caller.removeEventListener('abort', this);
    this.#controller.abort(reason);
  }

  finish(answers: boolean[]): boolean[] {
    this.caller.removeEventListener('abort', this);
    if (this.signal.aborted) throw this.signal.reason;
    return answers;
  }
}

/**
 * One call in flight: the abort listener (an EventListener object, so no closure) and the
 * settlement, shared by the three RPCs. A bulk call writes into `answers` from `offset`.
 */
class PendingCall {
  call: { cancel(): void } | undefined;

  constructor(
    readonly operation: SpiceDbOperation,
    readonly signal: AbortSignal,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
    readonly redact: (text: string) => string,
    readonly expected: number,
    readonly answers: boolean[] | undefined,
    readonly offset: number,
  ) {}

  handleEvent(): void {
    // Reject first: the caller gets its own reason, whatever grpc-js reports for the cancel.
    this.reject(this.signal.reason);
    // This runs inside the signal's dispatch, where a throw would become an uncaught exception.
    try {
      this.call?.cancel();
    } catch {
      // The call still ends at its deadline; the caller already has its answer.
    }
  }

  settle(error: unknown, response: unknown): void {
    this.signal.removeEventListener('abort', this);
    if (this.signal.aborted) {
      this.reject(this.signal.reason);
    } else if (this.operation === 'ReadSchema' && isNoSchema(error)) {
      // "No schema written yet" is SpiceDB answering us, so it is healthy.
      this.resolve(undefined);
    } else if (error !== null && error !== undefined) {
      const requestErrors = this.operation !== 'ReadSchema';
      this.reject(spiceDbErrorFrom(this.operation, error, this.redact, undefined, requestErrors));
    } else {
      try {
        this.resolve(this.read(response));
      } catch (failure) {
        this.reject(failure);
      }
    }
  }

  read(response: unknown): unknown {
    if (this.operation === 'CheckPermission') {
      return allowed(this.operation, (response as v1.CheckPermissionResponse).permissionship);
    }
    if (this.operation === 'CheckBulkPermissions') {
      return answers(
        (response as v1.CheckBulkPermissionsResponse).pairs,
        this.expected,
        this.redact,
        this.answers as boolean[],
        this.offset,
      );
    }
    return undefined;
  }
}

/** Writes a bulk call's `expected` answers into `result` from `offset`, where its checks start. */
function answers(
  pairs: readonly v1.CheckBulkPermissionsPair[],
  expected: number,
  redact: (text: string) => string,
  result: boolean[],
  offset: number,
): boolean[] {
  if (pairs.length !== expected) {
    throw new SpiceDbError(
      'CheckBulkPermissions',
      GrpcStatus.INTERNAL,
      `SpiceDB CheckBulkPermissions answered ${pairs.length} checks of the ${expected} asked${offset === 0 ? '' : ` (checks ${offset} to ${offset + expected - 1})`}`,
    );
  }
  for (let i = 0; i < expected; i++) {
    const answer = (pairs[i] as v1.CheckBulkPermissionsPair).response;
    // Errors name the check's index in the whole list, which is what the caller can look up.
    const index = offset + i;
    if (answer.oneofKind === 'item') {
      result[index] = allowed('CheckBulkPermissions', answer.item.permissionship, index);
    } else if (answer.oneofKind === 'error') {
      throw spiceDbErrorFrom('CheckBulkPermissions', answer.error, redact, index);
    } else {
      throw new SpiceDbError(
        'CheckBulkPermissions',
        GrpcStatus.INTERNAL,
        `SpiceDB CheckBulkPermissions check ${index} came back with neither an answer nor an error`,
        index,
      );
    }
  }
  return result;
}

/** The permissionship SpiceDB answered, as an allow or a deny. */
function allowed(
  operation: SpiceDbOperation,
  permissionship: v1.CheckPermissionResponse_Permissionship,
  item: number | undefined = undefined,
): boolean {
  if (permissionship === Permissionship.HAS_PERMISSION) return true;
  // CONDITIONAL: a caveat needs context we never send, so SpiceDB could not decide; a
  // conditional answer is not an allow. NO_PERMISSION is a successful call, never a failure.
  if (
    permissionship === Permissionship.NO_PERMISSION ||
    permissionship === Permissionship.CONDITIONAL_PERMISSION
  ) {
    return false;
  }
  const where = item === undefined ? operation : `${operation} check ${item}`;
  throw new SpiceDbError(
    operation,
    GrpcStatus.INTERNAL,
    `SpiceDB ${where} answered permissionship ${Permissionship[permissionship] ?? permissionship}: neither an allow nor a deny`,
    item,
  );
}

function isNoSchema(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === GrpcStatus.NOT_FOUND
  );
}

function unchanged(text: string): string {
  return text;
}

/** Why `value` is not a {@link Consistency}, as the end of a sentence; undefined when it is one. */
function consistencyProblem(value: unknown): string | undefined {
  if (value === 'minimize_latency' || value === 'fully_consistent') return undefined;
  const shape = `must be 'minimize_latency', 'fully_consistent' or { atLeastAsFresh: zedToken }, got ${describeValue(value)}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return shape;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'atLeastAsFresh') return shape;
  const token = (value as { atLeastAsFresh: unknown }).atLeastAsFresh;
  if (typeof token !== 'string' || token.length === 0) {
    return `has atLeastAsFresh ${describeValue(token)}; it must be a zedtoken SpiceDB returned (a non-empty string)`;
  }
  return undefined;
}

function toV1(consistency: Consistency): v1.Consistency {
  if (consistency === 'minimize_latency') return MINIMIZE_LATENCY;
  if (consistency === 'fully_consistent') return FULLY_CONSISTENT;
  return {
    requirement: {
      oneofKind: 'atLeastAsFresh',
      atLeastAsFresh: { token: consistency.atLeastAsFresh },
    },
  };
}

/** The weaker of two differing requirements gives way; two different zedtokens need full consistency. */
function stronger(a: v1.Consistency, b: v1.Consistency): v1.Consistency {
  if (b === FULLY_CONSISTENT || a === MINIMIZE_LATENCY) return b;
  if (b === MINIMIZE_LATENCY) return a;
  const tokenOf = (c: v1.Consistency) =>
    c.requirement.oneofKind === 'atLeastAsFresh' ? c.requirement.atLeastAsFresh.token : undefined;
  return tokenOf(a) === tokenOf(b) ? a : FULLY_CONSISTENT;
}

function checkEndpoint(value: unknown): string {
  if (typeof value !== 'string') {
    throw new TypeError(
      `${OWNER}: option "endpoint" must be "host:port", got ${describeValue(value)}`,
    );
  }
  const match = ENDPOINT.exec(value);
  const port = match === null ? 0 : Number(match[1]);
  if (port < 1 || port > 65_535) {
    throw new TypeError(
      `${OWNER}: option "endpoint" must be "host:port" with a port from 1 to 65535, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** The token is checked without ever being quoted: a wrong one may still be someone's secret. */
function checkToken(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(
      `${OWNER}: option "token" must be a non-empty string (SpiceDB's preshared key), got ${value === '' ? 'an empty string' : `a value of type ${typeof value}`}`,
    );
  }
  if (!TOKEN.test(value)) {
    throw new TypeError(
      `${OWNER}: option "token" holds a space, control or non-ASCII character, which a gRPC header cannot carry (its value is not shown)`,
    );
  }
  return value;
}

function checkClient(value: unknown): SpiceDbClient {
  const client = value as Partial<Record<keyof SpiceDbClient, unknown>> | null;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.checkPermission !== 'function' ||
    typeof client.checkBulkPermissions !== 'function' ||
    typeof client.readSchema !== 'function' ||
    typeof client.close !== 'function'
  ) {
    throw new TypeError(
      `${OWNER}: option "client" must be an @authzed/authzed-node v1 client (v1.NewClient(...)), got ${describeValue(value)}`,
    );
  }
  // The `.promises` view has the same methods, but they return promises, which cannot be
  // cancelled: an abort or a breaker timeout would leave the call running. Only the client has it.
  if (typeof client.promises !== 'object' || client.promises === null) {
    throw new TypeError(
      `${OWNER}: option "client" has no "promises" property, so it is not what v1.NewClient(...) returned but likely client.promises, whose calls cannot be cancelled: pass the client itself, not client.promises`,
    );
  }
  return value as SpiceDbClient;
}

/** A duration option (`fallback` when absent) a timer can hold: from `min` to MAX_TIMER_MS ms. */
function timerOption(
  given: Record<string, unknown>,
  key: 'timeout' | 'keepaliveTime' | 'keepaliveTimeout',
  fallback: number,
  min: number,
): number {
  const value = durationAtLeast(OWNER, key, orDefault(given[key], fallback), min);
  if (value > MAX_TIMER_MS) {
    throw new RangeError(
      `${OWNER}: option "${key}" must be at most ${MAX_TIMER_MS} ms, got ${value}`,
    );
  }
  return value;
}

/** A given client's method returned something other than a grpc-js call (`result`). */
function uncancellable(operation: SpiceDbOperation, result: unknown): TypeError {
  return new TypeError(
    `${OWNER}: the client's ${METHODS[operation]}() returned no call with cancel() (got ${describeValue(result)}), so the check could never be cancelled: pass the client v1.NewClient(...) returned, not client.promises or a wrapper`,
  );
}

/** The channel a checker makes: reconnects at the breaker's pace, pings to find a silent peer. */
function channelOptions(given: Record<string, unknown>): ClientOptions {
  const keepaliveTime = timerOption(given, 'keepaliveTime', KEEPALIVE_TIME, MIN_KEEPALIVE_TIME);
  const keepaliveTimeout = timerOption(given, 'keepaliveTimeout', KEEPALIVE_TIMEOUT, 1);
  return {
    // grpc-js's defaults back off up to 120 s between reconnects, so a SpiceDB that is back would
    // stay unreachable long after the breaker's open period; 5 s keeps recovery close to its pace.
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5_000,
    'grpc.keepalive_time_ms': keepaliveTime,
    'grpc.keepalive_timeout_ms': keepaliveTimeout,
    'grpc.keepalive_permit_without_calls': 1,
  };
}
