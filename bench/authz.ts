/**
 * Case 10: permission checks through @breakwater/authz against a real SpiceDB server (the
 * embedded engine in its own process, served over loopback gRPC), which the bench starts here
 * with a small schema of its own and closes at the end. The floors are what a user would write
 * without the package: a Map of decisions, and @authzed/authzed-node's checkPermission called
 * directly over its own connection.
 */
import { v1 } from '@authzed/authzed-node';
import {
  AuthorizationService,
  type CheckRequest,
  checkKey,
  type Decision,
  FallbackStrategy,
  type PermissionChecker,
  SpiceDbChecker,
} from '@breakwater/authz';
import { type EmbeddedSpiceDb, startEmbeddedSpiceDb } from '@breakwater/authz/embedded';
import type { Logger } from '@breakwater/core';
import { Metadata } from '@grpc/grpc-js';

export interface AuthzBenchOptions {
  /** Checks per contender per round in the round-trip case, one at a time. */
  roundTripCalls: number;
  /** Identical uncached checks started at once. */
  concurrent: number;
}

export const AUTHZ_CONTENDERS = {
  map: 'bare Map.get',
  awaitedMap: 'bare Map.get, awaited',
  cached: 'AuthorizationService.check, cached',
  cachedSync: 'AuthorizationService.check, cached, not awaited',
  direct: 'bare authzed-node checkPermission',
  checker: 'SpiceDbChecker.check',
  service: 'AuthorizationService.check, cache: false',
  shared: 'AuthorizationService.check, one shared call',
  fallback: 'AuthorizationService.check, breaker open, denyAll',
  openBreaker: 'bare CircuitBreaker.tryExecute, open',
} as const;

const SCHEMA = `definition user {}

definition document {
  relation owner: user
  relation reader: user
  permission read = reader + owner
}
`;
const RELATIONSHIPS = ['document:plan#owner@user:alice', 'document:plan#reader@user:bob'];
/** Every contender asks this one check, which SpiceDB allows. */
const REQUEST: CheckRequest = Object.freeze({
  subject: 'user:bob',
  resource: 'document:plan',
  permission: 'read',
});
const DIRECT_REQUEST: v1.CheckPermissionRequest = v1.CheckPermissionRequest.create({
  consistency: { requirement: { oneofKind: 'minimizeLatency', minimizeLatency: true } },
  resource: { objectType: 'document', objectId: 'plan' },
  permission: 'read',
  subject: { object: { objectType: 'user', objectId: 'bob' }, optionalRelation: '' },
});
const HAS_PERMISSION = v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION;
// The checker's own default, so both sides of the round trip carry the same deadline.
const DEADLINE_MS = 2_000;

/** A checker that counts the calls that reach it: how many backend calls a case made. */
class CountingChecker implements PermissionChecker {
  calls = 0;
  constructor(private readonly inner: PermissionChecker) {}

  check(req: CheckRequest, signal: AbortSignal): Promise<boolean> {
    this.calls++;
    return this.inner.check(req, signal);
  }

  health(signal: AbortSignal): Promise<void> {
    return this.inner.health(signal);
  }
}

/** A figure measured from the wrong path (a miss, a fallback, a deny) is no figure. */
export class AuthzBenchError extends Error {}

function expectAllowed(decision: Decision, source: Decision['source'], who: string): void {
  if (!decision.allowed || decision.source !== source) {
    throw new AuthzBenchError(
      `case authz: ${who} answered ${JSON.stringify(decision)}, expected an allow from ${source}`,
    );
  }
}

const kept: { last: unknown } = { last: undefined };

/** The authorization case's set-up, kept across rounds: the server, the clients, the services. */
export class AuthzBench {
  private readonly server: EmbeddedSpiceDb;
  private readonly client: v1.ZedClientInterface;
  private readonly checker: SpiceDbChecker;
  private readonly counted: CountingChecker;
  private readonly cachedService: AuthorizationService;
  private readonly uncachedService: AuthorizationService;
  private readonly openService: AuthorizationService;
  private readonly metadata = new Metadata();
  private readonly decisions = new Map<string, Decision>();
  private readonly key = checkKey(REQUEST);
  private readonly logger: Logger;

  private constructor(server: EmbeddedSpiceDb, log: (line: string) => void) {
    this.server = server;
    const logger: Logger = {
      info: () => undefined,
      warn: (_fields: unknown, message: string) => log(`case authz: ${message}`),
      error: (_fields: unknown, message: string) => log(`case authz: ${message}`),
    };
    this.logger = logger;
    this.client = v1.NewClient(
      server.token,
      server.endpoint,
      v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS,
    );
    this.checker = new SpiceDbChecker({
      endpoint: server.endpoint,
      token: server.token,
      insecure: true,
      timeout: DEADLINE_MS,
    });
    this.counted = new CountingChecker(this.checker);
    this.cachedService = new AuthorizationService({ checker: this.counted, logger });
    this.uncachedService = new AuthorizationService({
      checker: this.counted,
      cache: false,
      logger,
    });
    this.openService = new AuthorizationService({
      checker: this.counted,
      cache: false,
      fallback: FallbackStrategy.denyAll(),
      logger,
    });
    this.openService.breaker.forceOpen();
  }

  static async start(log: (line: string) => void): Promise<AuthzBench> {
    const server = await startEmbeddedSpiceDb({ schema: SCHEMA, relationships: RELATIONSHIPS });
    log(`case authz: SpiceDB serving on ${server.endpoint} (pid ${server.pid})`);
    let bench: AuthzBench | undefined;
    try {
      bench = new AuthzBench(server, log);
      await bench.warm();
      return bench;
    } catch (error) {
      await (bench === undefined ? server.close() : bench.stop());
      throw error;
    }
  }

  /** Connects both clients and fills the cache: no contender pays for a first call. */
  private async warm(): Promise<void> {
    if (!(await this.direct())) throw new AuthzBenchError('case authz: SpiceDB denied the check');
    expectAllowed(await this.uncachedService.check(REQUEST), 'spicedb', AUTHZ_CONTENDERS.service);
    expectAllowed(await this.cachedService.check(REQUEST), 'spicedb', AUTHZ_CONTENDERS.cached);
    expectAllowed(await this.cachedService.check(REQUEST), 'cache', AUTHZ_CONTENDERS.cached);
    this.decisions.set(this.key, await this.cachedService.check(REQUEST));
  }

  /** The same CheckPermission the checker makes, straight through @authzed/authzed-node. */
  private direct(): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.checkPermission(
        DIRECT_REQUEST,
        this.metadata,
        { deadline: Date.now() + DEADLINE_MS },
        (error, response) => {
          if (error !== null) reject(error);
          else resolve(response?.permissionship === HAS_PERMISSION);
        },
      );
    });
  }

  /** The cached case's contenders, each a call for `nsPerCall`. */
  cachedContenders(): [string, () => unknown][] {
    const decisions = this.decisions;
    const key = this.key;
    const service = this.cachedService;
    return [
      [
        AUTHZ_CONTENDERS.map,
        () => {
          kept.last = decisions.get(key);
        },
      ],
      // The floor for anything that answers with a promise, as check does.
      [AUTHZ_CONTENDERS.awaitedMap, () => Promise.resolve(decisions.get(key))],
      [AUTHZ_CONTENDERS.cached, () => service.check(REQUEST)],
      // The service's own share: the same call, its (already settled) promise left unawaited.
      [
        AUTHZ_CONTENDERS.cachedSync,
        () => {
          kept.last = service.check(REQUEST);
        },
      ],
    ];
  }

  /** The open breaker's contenders: the fallback's answer, and the breaker's refusal alone. */
  openContenders(): [string, () => unknown][] {
    const service = this.openService;
    const breaker = service.breaker;
    const operation = () => Promise.resolve(true);
    return [
      [AUTHZ_CONTENDERS.openBreaker, () => breaker.tryExecute(operation)],
      [AUTHZ_CONTENDERS.fallback, () => service.check(REQUEST)],
    ];
  }

  /**
   * The round trip: `roundTripCalls` checks per contender, one at a time, the contenders taking
   * turns call by call in an order rotated every turn, so the round trip's noise (the server, a
   * neighbour's load) falls on all alike. Resolves each contender's µs per check, call by call.
   */
  async roundTrip(options: AuthzBenchOptions, round: number): Promise<Map<string, number[]>> {
    const uncached = this.uncachedService;
    const checker = this.checker;
    const signal = new AbortController().signal;
    const contenders: [string, () => Promise<boolean>][] = [
      [AUTHZ_CONTENDERS.direct, () => this.direct()],
      [AUTHZ_CONTENDERS.checker, () => checker.check(REQUEST, signal)],
      [AUTHZ_CONTENDERS.service, () => uncached.check(REQUEST).then(fromSpiceDb)],
    ];
    const micros = contenders.map(() => new Array<number>(options.roundTripCalls));
    const before = this.counted.calls;
    for (let turn = 0; turn < options.roundTripCalls; turn++) {
      for (let i = 0; i < contenders.length; i++) {
        const index = (i + turn + round) % contenders.length;
        const [name, call] = contenders[index] as [string, () => Promise<boolean>];
        const begin = performance.now();
        const yes = await call();
        (micros[index] as number[])[turn] = (performance.now() - begin) * 1_000;
        if (!yes) throw new AuthzBenchError(`case authz: ${name} denied a check SpiceDB allows`);
      }
    }
    // Every service check went to SpiceDB: none was shared, cached or a fallback.
    const made = this.counted.calls - before;
    if (made !== options.roundTripCalls) {
      throw new AuthzBenchError(
        `case authz: the uncached service made ${made} backend calls for ${options.roundTripCalls} checks`,
      );
    }
    return new Map(contenders.map(([name], index) => [name, micros[index] as number[]]));
  }

  /**
   * `concurrent` identical checks at once through a fresh service (an empty cache): the backend
   * calls they made and the wall time until all were decided; and, for the wall time, the same
   * number of direct calls.
   */
  async concurrent(
    options: AuthzBenchOptions,
  ): Promise<{ backendCalls: number; serviceMs: number; directMs: number }> {
    const counted = new CountingChecker(this.checker);
    const service = new AuthorizationService({ checker: counted, logger: this.logger });
    const begin = performance.now();
    const decisions = await Promise.all(
      Array.from({ length: options.concurrent }, () => service.check(REQUEST)),
    );
    const serviceMs = performance.now() - begin;
    service.close();
    for (const decision of decisions) expectAllowed(decision, 'spicedb', AUTHZ_CONTENDERS.shared);
    const directBegin = performance.now();
    const answers = await Promise.all(
      Array.from({ length: options.concurrent }, () => this.direct()),
    );
    const directMs = performance.now() - directBegin;
    if (answers.some((yes) => !yes))
      throw new AuthzBenchError(`case authz: ${AUTHZ_CONTENDERS.direct} denied a check`);
    return { backendCalls: counted.calls, serviceMs, directMs };
  }

  /**
   * Throws unless each service took the path its case measures: the cached one answered from
   * the cache, the open one from the fallback without a backend call, the breakers as set.
   */
  verify(): void {
    const cached = this.cachedService.stats();
    const open = this.openService.stats();
    const problems: string[] = [];
    // One miss and one call to SpiceDB, while warming: every check since was a hit.
    if (cached.checks.spicedb.allowed !== 1 || cached.cache?.misses !== 1)
      problems.push(`the cached service's stats were ${JSON.stringify(cached)}`);
    if (
      open.backend.calls !== 0 ||
      open.checks.fallback.allowed !== 0 ||
      open.checks.fallback.denied === 0
    )
      problems.push(`the open service's stats were ${JSON.stringify(open)}`);
    if (this.openService.breaker.state().name !== 'open')
      problems.push(`the open service's breaker was ${this.openService.breaker.state().name}`);
    if (this.uncachedService.breaker.state().name !== 'closed')
      problems.push(
        `the uncached service's breaker was ${this.uncachedService.breaker.state().name}`,
      );
    if (problems.length > 0) throw new AuthzBenchError(`case authz: ${problems.join('; ')}`);
  }

  /** Closes the services and clients, then the server (which waits for its process to exit). */
  async stop(): Promise<void> {
    for (const service of [this.cachedService, this.uncachedService, this.openService])
      service.close();
    this.checker.close();
    this.client.close();
    await this.server.close();
  }
}

function fromSpiceDb(decision: Decision): boolean {
  return decision.allowed && decision.source === 'spicedb';
}
