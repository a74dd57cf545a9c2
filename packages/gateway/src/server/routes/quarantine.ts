import { Readable } from 'node:stream';
import { QuarantineError, type QuarantineRecord } from '@breakwater/scanbridge';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Access, Permission } from '../access.js';
import { type AuditAction, audit } from '../audit.js';
import type { Caller } from '../callers.js';
import { attachment } from '../content-disposition.js';
import { GatewayHttpError } from '../http-error.js';
import type { RouteContext } from '../route-context.js';
import { quarantineView } from '../verdict.js';

type ItemParams = { Params: { tenant: string; id: string } };

/**
 * The quarantine, per tenant: list and read (`review`), download (`review`), release and delete
 * (`manage`). Records carry the tenant they were scanned for; an id of another tenant's file is
 * answered exactly as an id that does not exist (404), so ids cannot be probed across tenants.
 */
export function quarantineRoutes(app: FastifyInstance, context: RouteContext): void {
  const { access, quarantine, logger } = context;
  const base = '/v1/tenants/:tenant/quarantine';

  app.get<{ Params: { tenant: string } }>(base, async (request) => {
    const tenant = access.tenant(request, request.params.tenant, 'quarantine_list');
    const caller = await allowed(access, request, 'review', tenant, 'quarantine_list');
    const records = await quarantine.list({ tenantId: tenant });
    audit(logger, {
      action: 'quarantine_list',
      outcome: 'ok',
      subject: caller.subject,
      tenant,
      requestId: request.id,
      detail: { count: records.length },
    });
    return { tenant, items: records.map(quarantineView) };
  });

  app.get<ItemParams>(`${base}/:id`, async (request) => {
    const { tenant, caller, record } = await item(context, request, 'review', 'quarantine_view');
    audit(logger, {
      action: 'quarantine_view',
      outcome: 'ok',
      subject: caller.subject,
      tenant,
      id: record.id,
      requestId: request.id,
    });
    return { tenant, item: quarantineView(record) };
  });

  app.get<ItemParams>(`${base}/:id/content`, async (request, reply) => {
    const { tenant, caller, record } = await item(
      context,
      request,
      'review',
      'quarantine_download',
    );
    return sendFile(context, request, reply, record, () =>
      audit(logger, {
        action: 'quarantine_download',
        outcome: 'ok',
        subject: caller.subject,
        tenant,
        id: record.id,
        requestId: request.id,
      }),
    );
  });

  // Release hands the file back and takes it out of the quarantine, once every byte was sent:
  // a transfer cut short leaves it held, to be released again.
  app.post<ItemParams>(`${base}/:id/release`, async (request, reply) => {
    const { tenant, caller, record } = await item(context, request, 'manage', 'quarantine_release');
    return sendFile(context, request, reply, record, async (sent) => {
      if (sent) await quarantine.delete(record.id);
      audit(logger, {
        action: 'quarantine_release',
        outcome: sent ? 'ok' : 'failed',
        subject: caller.subject,
        tenant,
        id: record.id,
        requestId: request.id,
        detail: sent
          ? { sha256: record.sha256 }
          : { reason: 'the transfer did not complete; the file stays quarantined' },
      });
    });
  });

  app.delete<ItemParams>(`${base}/:id`, async (request) => {
    const { tenant, caller, record } = await item(context, request, 'manage', 'quarantine_delete');
    const deleted = await quarantine.delete(record.id);
    audit(logger, {
      action: 'quarantine_delete',
      outcome: deleted ? 'ok' : 'not_found',
      subject: caller.subject,
      tenant,
      id: record.id,
      requestId: request.id,
    });
    if (!deleted) throw notFound(record.id);
    return { tenant, id: record.id, deleted: true };
  });
}

async function allowed(
  access: Access,
  request: FastifyRequest,
  permission: Permission,
  tenant: string,
  action: AuditAction,
  id?: string,
): Promise<Caller> {
  const caller = access.authenticate(request, action, tenant, id);
  await access.authorize(request, caller, permission, tenant, action, id);
  return caller;
}

/** The record under `:id` for an authorized caller, if it belongs to `:tenant`; else 404 (audited). */
async function item(
  context: RouteContext,
  request: FastifyRequest<ItemParams>,
  permission: Permission,
  action: AuditAction,
): Promise<{ tenant: string; caller: Caller; record: QuarantineRecord }> {
  const { id } = request.params;
  const tenant = context.access.tenant(request, request.params.tenant, action, id);
  const caller = await allowed(context.access, request, permission, tenant, action, id);
  const record = await context.quarantine.get(id).catch((error: unknown) => {
    if (
      error instanceof QuarantineError &&
      (error.kind === 'not_found' || error.kind === 'invalid_id')
    )
      return undefined;
    throw error;
  });
  if (record === undefined || record.tenantId !== tenant) {
    audit(context.logger, {
      action,
      outcome: 'not_found',
      subject: caller.subject,
      tenant,
      id,
      requestId: request.id,
    });
    throw notFound(id);
  }
  return { tenant, caller, record };
}

function notFound(id: string): GatewayHttpError {
  const shown = id.length > 64 ? `${JSON.stringify(id.slice(0, 64))}...` : JSON.stringify(id);
  return new GatewayHttpError(
    404,
    'BREAKWATER_QUARANTINE_NOT_FOUND',
    `Nothing is quarantined for this tenant under id ${shown}`,
  );
}

/**
 * Streams the quarantined file (checked against its record's sha256 before the first byte and
 * again as it is read) as a download nobody's browser renders; `done(sent)` runs once the answer
 * is over, `sent` true only when every byte was written.
 */
async function sendFile(
  { quarantine, logger }: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  record: QuarantineRecord,
  done: (sent: boolean) => void | Promise<void>,
): Promise<FastifyReply> {
  const file = await quarantine.retrieve(record.id);
  reply.raw.once('close', () => {
    const sent = reply.raw.writableFinished;
    Promise.resolve()
      .then(() => done(sent))
      .catch((error: unknown) => {
        logger.error(
          { event: 'gateway_error', requestId: request.id, id: record.id, error: String(error) },
          `request ${request.id}: could not finish the quarantine answer for ${record.id}`,
        );
      });
  });
  return reply
    .header('content-type', 'application/octet-stream')
    .header('content-length', String(file.record.size))
    .header('content-disposition', attachment(file.record.filename, `${record.id}.bin`))
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .header('x-breakwater-sha256', file.record.sha256)
    .send(Readable.from(file.input.chunks()));
}
