import type { Logger } from '@breakwater/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { audit } from '../audit.js';
import { errorAnswer } from '../error-answer.js';
import { GatewayHttpError } from '../http-error.js';
import type { RouteContext } from '../route-context.js';
import { checkTenantId } from '../tenant-id.js';
import type { FileVerdict } from '../verdict.js';
import { scanFiles } from './scan-files.js';

/** clamav-rest-api's form field. */
export const CLAMAV_REST_FIELD = 'FILES';

const HELD_BACK: Readonly<Record<string, string>> = {
  block: 'Breakwater.Blocked',
  quarantine: 'Breakwater.Quarantined',
  require_review: 'Breakwater.RequireReview',
};

/**
 * `POST /api/v1/scan`, as benzino77/clamav-rest-api answers it, so its clients work unchanged:
 * files in the multipart field `FILES`, `{ success, data: { result: [{ name, is_infected,
 * viruses }] } }`, errors as `{ success: false, data: { error } }`. The token's default tenant
 * is the tenant scanned for, with its policy: a file the policy holds back is `is_infected`
 * even without a threat name (a client of clamav-rest-api takes anything else as safe), and its
 * `viruses` then names the decision.
 */
export function clamavRestRoutes(app: FastifyInstance, context: RouteContext): void {
  const { access, logger } = context;
  app.post('/api/v1/scan', async (request, reply) => {
    try {
      const caller = access.authenticate(request, 'scan', undefined);
      if (caller.tenant === undefined) {
        audit(logger, {
          action: 'scan',
          outcome: 'bad_request',
          subject: caller.subject,
          requestId: request.id,
          detail: { endpoint: 'clamav-rest', code: 'BREAKWATER_NO_DEFAULT_TENANT' },
        });
        throw new GatewayHttpError(
          400,
          'BREAKWATER_NO_DEFAULT_TENANT',
          `The token for ${caller.subject} has no default tenant, which /api/v1/scan scans for: give it a "tenant" in the gateway's configuration, or use POST /v1/tenants/<tenant>/scans`,
        );
      }
      const tenant = checkTenantId(caller.tenant);
      await access.authorize(request, caller, 'scan', tenant, 'scan');
      const verdicts = await scanFiles(request, reply, context, {
        tenant,
        caller,
        endpoint: 'clamav-rest',
        field: CLAMAV_REST_FIELD,
      });
      return { success: true, data: { result: verdicts.map(clamavRestResult) } };
    } catch (error) {
      return sendClamavRestError(request, reply, logger, error);
    }
  });
}

function clamavRestResult(verdict: FileVerdict): {
  name: string;
  is_infected: boolean;
  viruses: string[];
} {
  const viruses = verdict.threats.map((threat) => threat.name);
  const heldBack = HELD_BACK[verdict.decision];
  if (heldBack !== undefined && viruses.length === 0) viruses.push(heldBack);
  return {
    name: verdict.filename,
    is_infected: heldBack !== undefined,
    viruses: [...new Set(viruses)],
  };
}

function sendClamavRestError(
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
  error: unknown,
): { success: false; data: { error: string; code: string } } {
  const answer = errorAnswer(error, request, logger);
  reply.code(answer.statusCode).headers(answer.headers);
  return { success: false, data: { error: answer.message, code: answer.code } };
}
