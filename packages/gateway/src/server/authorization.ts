import {
  AuthorizationService,
  DecisionCache,
  FallbackStrategy,
  SpiceDbChecker,
} from '@breakwater/authz';
import type { BreakerRegistry, Logger } from '@breakwater/core';
import type { GatewayConfig } from '../config/types.js';

/** The authorization service the gateway checks with, and the checker it owns. */
export interface Authorization {
  readonly service: AuthorizationService;
  close(): void;
}

// A SpiceDB run without a preshared key does not exist (`spicedb serve` needs one), so this
// stands in for an unset one: every call is refused, and the fallback decides (a deny).
const NO_TOKEN = 'unset';

/**
 * SpiceDB behind its breaker (`spicedb`, critical: without it nobody can be authorized),
 * with the decision cache and the configured fallback: `cached-else-deny` answers what SpiceDB
 * allowed before (up to `cache.ttlMs` old), else denies; `deny` denies everything while it is down.
 */
export function buildAuthorization(
  config: GatewayConfig['spicedb'],
  registry: BreakerRegistry,
  logger: Logger,
): Authorization {
  if (config.token === undefined) {
    logger.warn(
      { endpoint: config.endpoint },
      'spicedb: no preshared key is set, so SpiceDB will refuse every check and every request will be denied; set the variable spicedb.tokenEnv names',
    );
  }
  const checker = new SpiceDbChecker({
    endpoint: config.endpoint,
    token: config.token?.reveal() ?? NO_TOKEN,
    insecure: config.insecure,
    timeout: config.timeoutMs,
  });
  try {
    const service = new AuthorizationService({
      checker,
      breaker: { timeout: config.timeoutMs, ...config.breaker },
      cache: new DecisionCache({
        // While SpiceDB answers, a cached allow stands in for it `freshMs` at most: a revoked
        // permission is gone within that. `ttlMs` is how long it may answer while SpiceDB is down.
        ttl: Math.min(config.cache.freshMs, config.cache.ttlMs),
        staleTtl: config.cache.ttlMs,
        maxEntries: config.cache.maxEntries,
      }),
      fallback:
        config.fallback === 'deny' ? FallbackStrategy.denyAll() : FallbackStrategy.useCachedRules(),
      registry,
      criticality: 'critical',
      logger,
    });
    return {
      service,
      close() {
        service.close();
        checker.close();
      },
    };
  } catch (error) {
    checker.close();
    throw error;
  }
}
