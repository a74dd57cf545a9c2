import {
  AuthorizationRequestError,
  type AuthorizationService,
  type Decision,
} from '@breakwater/authz';
import type { Logger } from '@breakwater/core';
import type { FastifyRequest } from 'fastify';
import { type AuditAction, audit } from './audit.js';
import type { Caller, CallerTable, Unauthenticated } from './callers.js';
import { GatewayHttpError } from './http-error.js';
import { checkTenantId } from './tenant-id.js';

/** A tenant permission of the gateway's schema. */
export type Permission = 'scan' | 'review' | 'manage';

const UNAUTHENTICATED: Readonly<Record<Unauthenticated, string>> = {
  missing: 'This endpoint needs an API token: send Authorization: Bearer <token>',
  malformed:
    'The Authorization header is not "Bearer <token>" (one token of printable ASCII, no spaces)',
  unknown: 'The API token is not one this gateway knows: check it, or ask for one',
};
const CHALLENGE: Readonly<Record<Unauthenticated, string>> = {
  missing: 'Bearer realm="breakwater"',
  malformed: 'Bearer realm="breakwater", error="invalid_request"',
  unknown: 'Bearer realm="breakwater", error="invalid_token"',
};
// A deny that came from the fallback is worth asking again once SpiceDB may answer; never sooner.
const MIN_RETRY_AFTER_S = 1;
// Held open by an operator: no time is known, so ask clients to wait a while rather than hammer.
const HELD_OPEN_RETRY_AFTER_S = 60;
// SpiceDB's words for a type its schema lacks: the subject's or the resource's.
const MISSING_DEFINITION = /definition `([a-z][a-z0-9_]*)` not found/;

/**
 * Who may do what: the caller from the token, then SpiceDB (through the authorization service,
 * its cache and fallback) on `tenant:<id>`. Every refusal is audited here, with the caller when
 * one is known, and thrown as the answer to send.
 */
export class Access {
  readonly #callers: CallerTable;
  readonly #authorization: AuthorizationService;
  readonly #logger: Logger;

  constructor(callers: CallerTable, authorization: AuthorizationService, logger: Logger) {
    this.#callers = callers;
    this.#authorization = authorization;
    this.#logger = logger;
  }

  /** The path's tenant id, or a 400 (audited, without the id: it may be anything) naming SpiceDB's rule. */
  tenant(request: FastifyRequest, value: string, action: AuditAction, id?: string): string {
    try {
      return checkTenantId(value);
    } catch (error) {
      audit(this.#logger, {
        action,
        outcome: 'bad_request',
        id,
        requestId: request.id,
        detail: { code: 'BREAKWATER_BAD_TENANT' },
      });
      throw error;
    }
  }

  /** The caller, or a 401 (audited) with a `WWW-Authenticate` challenge. */
  authenticate(
    request: FastifyRequest,
    action: AuditAction,
    tenant: string | undefined,
    id?: string,
  ): Caller {
    const caller = this.#callers.identify(request.headers.authorization);
    if (typeof caller === 'object') return caller;
    audit(this.#logger, {
      action,
      outcome: 'unauthenticated',
      tenant,
      id,
      requestId: request.id,
      detail: { reason: caller },
    });
    throw new GatewayHttpError(401, 'BREAKWATER_UNAUTHENTICATED', UNAUTHENTICATED[caller], {
      headers: { 'www-authenticate': CHALLENGE[caller] },
    });
  }

  /**
   * Resolves when SpiceDB (or its fallback) allows `permission` on `tenant:<tenant>`; otherwise
   * a 403 naming the permission and the resource, audited. A deny the fallback gave (SpiceDB
   * could not be asked) carries `Retry-After`: the same request may pass once it answers again.
   */
  async authorize(
    request: FastifyRequest,
    caller: Caller,
    permission: Permission,
    tenant: string,
    action: AuditAction,
    id?: string,
  ): Promise<Decision> {
    const resource = `tenant:${tenant}`;
    const decision = await this.#authorization
      .check({ subject: caller.subject, resource, permission })
      .catch((error: unknown) => {
        throw this.refusedCheck(request, error, caller, permission, resource);
      });
    if (decision.allowed) return decision;
    audit(this.#logger, {
      action,
      outcome: 'forbidden',
      subject: caller.subject,
      tenant,
      id,
      requestId: request.id,
      detail: { permission, source: decision.source, reason: decision.reason },
    });
    const fromFallback = decision.source === 'fallback';
    const message = fromFallback
      ? `${caller.subject} may not ${permission} for ${resource} right now: SpiceDB cannot be asked (${decision.reason}) and no earlier decision allows it; try again later`
      : `${caller.subject} lacks the "${permission}" permission on ${resource}`;
    throw new GatewayHttpError(403, 'BREAKWATER_FORBIDDEN', message, {
      fields: { permission, resource },
      headers: fromFallback ? { 'retry-after': String(this.retryAfterSeconds()) } : {},
    });
  }

  /**
   * SpiceDB refused the question itself (never a deny, never the fallback's): with a valid
   * subject and tenant id that means its schema lacks the gateway's definitions. The one it
   * named, when it did (`object definition \`user\` not found`), is the one to add.
   */
  private refusedCheck(
    request: FastifyRequest,
    error: unknown,
    caller: Caller,
    permission: Permission,
    resource: string,
  ): unknown {
    if (!(error instanceof AuthorizationRequestError)) return error;
    this.#logger.error(
      { event: 'gateway_error', requestId: request.id, permission, resource, error: error.message },
      `SpiceDB refused to check ${permission} on ${resource}: ${error.message}`,
    );
    const missing = MISSING_DEFINITION.exec(error.message)?.[1];
    const why =
      missing === undefined
        ? "its schema is not the gateway's"
        : `its schema has no definition ${JSON.stringify(missing)}`;
    return new GatewayHttpError(
      500,
      'BREAKWATER_AUTHZ_SCHEMA',
      `SpiceDB cannot check "${permission}" on ${resource} for ${caller.subject}: ${why}. Write schema/schema.zed to it (spicedb.applySchema: true does so on start)`,
    );
  }

  /** Until the SpiceDB breaker lets a probe through; a second when it is not open (a lone failure). */
  private retryAfterSeconds(): number {
    const state = this.#authorization.breaker.state();
    if (state.name !== 'open') return MIN_RETRY_AFTER_S;
    if (!Number.isFinite(state.until)) return HELD_OPEN_RETRY_AFTER_S;
    const seconds = Math.ceil((state.until - Date.now()) / 1000);
    return Math.max(MIN_RETRY_AFTER_S, seconds);
  }
}
