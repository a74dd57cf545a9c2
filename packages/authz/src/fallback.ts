import type { Logger } from '@breakwater/core';
import {
  describeValue,
  nonEmptyString,
  orDefault,
  rejectUnknownKeys,
  requireObject,
} from '@breakwater/core/validate';
import type { CheckRequest, FallbackContext, FallbackDecider } from './types.js';
import { isPermissionName, resourceProblem, showValue } from './validate-request.js';

/** The code of the warning `allowReadOnly` emits when no logger is given. */
export const FALLBACK_ALLOWS_WARNING = 'BREAKWATER_AUTHZ_FALLBACK_ALLOWS';

export interface AllowHealthOnlyOptions {
  /** The one resource allowed, `type:id`. Default `'health:status'`. */
  resource?: string | undefined;
  /** The one permission allowed on it. Default `'read'`. */
  permission?: string | undefined;
}

export interface AllowReadOnlyOptions {
  /** The permissions anyone gets on any resource while SpiceDB cannot answer. No default. */
  permissions: readonly string[];
  /** Where the construction-time warning goes; `process.emitWarning` without one. */
  logger?: Logger | undefined;
}

export interface UseCachedRulesOptions {
  /** Decides the checks the cache holds nothing for. Default {@link FallbackStrategy.denyAll}. */
  then?: FallbackDecider | undefined;
}

export interface CustomOptions {
  /** Names the strategy in decisions and stats. Default `'custom'`. */
  name?: string | undefined;
}

export type CustomDecide = (req: CheckRequest, context: FallbackContext) => boolean;

const DENY_ALL: FallbackDecider = Object.freeze({
  name: 'deny_all',
  decide: (): boolean => false,
});

/**
 * A decider's answer as a decision: `true` allows, anything else denies. A promise (an async
 * function passed by mistake) denies too, and its rejection is caught so it cannot crash the
 * process as an unhandled rejection.
 */
function allowsOnly(answer: unknown): boolean {
  if (answer === true) return true;
  ignoreRejection(answer);
  return false;
}

/**
 * When `answer` is a promise or any thenable (a decider that is async by mistake), attaches a
 * rejection handler, so its rejection cannot crash the process as an unhandled rejection. A
 * thenable that throws while being looked at is left alone: it is denied either way.
 */
export function ignoreRejection(answer: unknown): void {
  if ((typeof answer !== 'object' && typeof answer !== 'function') || answer === null) return;
  try {
    const then: unknown = Reflect.get(answer, 'then');
    if (typeof then === 'function') then.call(answer, undefined, () => undefined);
  } catch {
    // Nothing to handle: it was never a working promise.
  }
}

function optionsOf(method: string, options: unknown, known: readonly string[]): object {
  const owner = `FallbackStrategy.${method}`;
  requireObject(owner, options);
  rejectUnknownKeys(owner, options, new Set(known));
  return options;
}

function isFallbackDecider(value: unknown): value is FallbackDecider {
  if (typeof value !== 'object' || value === null) return false;
  const { name, decide } = value as { name?: unknown; decide?: unknown };
  return typeof name === 'string' && name.length > 0 && typeof decide === 'function';
}

function emitAllowsWarning(permissions: readonly string[], logger: Logger | undefined): void {
  const list = permissions.map((p) => JSON.stringify(p)).join(', ');
  const message = `FallbackStrategy.allowReadOnly: while SpiceDB cannot answer, anyone, signed in or not, may use ${list} on any resource`;
  if (logger !== undefined) {
    logger.warn({ strategy: 'allow_read_only', permissions: [...permissions] }, message);
  } else {
    process.emitWarning(message, { code: FALLBACK_ALLOWS_WARNING });
  }
}

function loggerOf(value: unknown): Logger | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof Reflect.get(value, 'warn') !== 'function'
  ) {
    throw new TypeError(
      `FallbackStrategy.allowReadOnly: option "logger" must be a Logger with a warn(fields, message) method, got ${describeValue(value)}`,
    );
  }
  return value as Logger;
}

/**
 * How the service decides a check SpiceDB cannot answer (the breaker is open, the call failed or
 * timed out). Each method returns a frozen {@link FallbackDecider}. Nothing is allowed unless a
 * strategy says so explicitly; a request error from SpiceDB never reaches a strategy.
 */
export const FallbackStrategy = {
  /** Denies everything: the default, and the only choice that can never open a hole. */
  denyAll(): FallbackDecider {
    return DENY_ALL;
  },

  /**
   * Allows exactly `permission` on `resource` (default `read` on `health:status`) for any
   * subject, so health checks pass while SpiceDB is down; denies everything else.
   */
  allowHealthOnly(options: AllowHealthOnlyOptions = {}): FallbackDecider {
    optionsOf('allowHealthOnly', options, ['resource', 'permission']);
    const resource = nonEmptyString(
      'FallbackStrategy.allowHealthOnly',
      'resource',
      orDefault(options.resource, 'health:status'),
    );
    const problem = resourceProblem(resource);
    if (problem !== undefined) {
      throw new TypeError(`FallbackStrategy.allowHealthOnly: option "resource": ${problem}`);
    }
    const permission = orDefault<unknown>(options.permission, 'read');
    if (!isPermissionName(permission)) {
      throw new TypeError(
        `FallbackStrategy.allowHealthOnly: option "permission" must be a SpiceDB permission name, got ${typeof permission === 'string' ? showValue(permission) : describeValue(permission)}`,
      );
    }
    return Object.freeze({
      name: 'allow_health_only',
      decide: (req: CheckRequest): boolean =>
        req.resource === resource && req.permission === permission,
    });
  },

  /**
   * Allows the listed permissions to anyone on any resource, and denies the rest. A real risk:
   * every document becomes readable by everyone while SpiceDB is down, so it warns once, here.
   */
  allowReadOnly(options: AllowReadOnlyOptions): FallbackDecider {
    optionsOf('allowReadOnly', options, ['permissions', 'logger']);
    const list: unknown = options.permissions;
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError(
        `FallbackStrategy.allowReadOnly: option "permissions" must be a non-empty array of permission names (there is no default: say which ones anyone may use), got ${describeValue(list)}`,
      );
    }
    for (const permission of list) {
      if (!isPermissionName(permission)) {
        throw new TypeError(
          `FallbackStrategy.allowReadOnly: option "permissions" holds ${typeof permission === 'string' ? showValue(permission) : describeValue(permission)}, which is not a SpiceDB permission name`,
        );
      }
    }
    const permissions = Object.freeze([...new Set(list as string[])]);
    const allowed = new Set(permissions);
    emitAllowsWarning(permissions, loggerOf(options.logger));
    return Object.freeze({
      name: 'allow_read_only',
      decide: (req: CheckRequest): boolean => allowed.has(req.permission),
    });
  },

  /**
   * Answers from the decision cache: SpiceDB's last decision for this exact check, fresh or
   * expired but within `staleTtl`, so nothing comes back that SpiceDB did not allow before.
   * Checks the cache holds nothing for go to `then` (default: deny). A permission revoked
   * within `staleTtl` before the outage still answers allow: the risk to weigh against uptime.
   */
  useCachedRules(options: UseCachedRulesOptions = {}): FallbackDecider {
    optionsOf('useCachedRules', options, ['then']);
    const then = orDefault<unknown>(options.then, DENY_ALL);
    if (!isFallbackDecider(then)) {
      throw new TypeError(
        `FallbackStrategy.useCachedRules: option "then" must be a FallbackDecider (from FallbackStrategy.*), got ${describeValue(then)}`,
      );
    }
    return Object.freeze({
      name: 'use_cached_rules',
      decide(req: CheckRequest, context: FallbackContext): boolean {
        if (context.cached !== undefined) return context.cached === true;
        try {
          return allowsOnly(then.decide(req, context));
        } catch {
          return false;
        }
      },
    });
  },

  /**
   * Your own rule, called synchronously. A throw, or any result but `true` or `false` (a promise
   * included), denies: `decide` never throws.
   */
  custom(decide: CustomDecide, options: CustomOptions = {}): FallbackDecider {
    if (typeof decide !== 'function') {
      throw new TypeError(
        `FallbackStrategy.custom(decide) needs a function (req, context) => boolean, got ${describeValue(decide)}`,
      );
    }
    optionsOf('custom', options, ['name']);
    const name = nonEmptyString(
      'FallbackStrategy.custom',
      'name',
      orDefault(options.name, 'custom'),
    );
    return Object.freeze({
      name,
      decide(req: CheckRequest, context: FallbackContext): boolean {
        try {
          return allowsOnly(decide(req, context));
        } catch {
          return false;
        }
      },
    });
  },
} as const;
