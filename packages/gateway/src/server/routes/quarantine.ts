import { Readable } from 'node:stream';
import { QuarantineError, type QuarantineRecord } from '@breakwater/scanbridge';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Access, Permission } from '../access.js';
import { type AuditAction, type AuditEntry, audit } from '../audit.js';
import type { Caller } from '../callers.js';
import { attachment } from '../content-disposition.js';
import { GatewayHttpError } from '../http-error.js';
import type { RouteContext } from '../route-context.js';
import { quarantineView } from '../verdict.js';

type ItemParams = { Params: { tenant: string; id: string } };

/** A record an authorized caller asked for, and what for. */
interface Found {
  readonly tenant: string;
  readonly caller: Caller;
  readonly record: QuarantineRecord;
  readonly action: AuditAction;
}

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
    const entry: AuditBase = {
      action: 'quarantine_list',
      subject: caller.subject,
      tenant,
      requestId: request.id,
    };
    const records = await orFailed(context, entry, () => quarantine.list({ tenantId: tenant }));
    audit(logger, { ...entry, outcome: 'ok', detail: { count: records.length } });
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

  // No HEAD twin: it would open, hash and audit a download that sends nothing.
  app.get<ItemParams>(`${base}/:id/content`, { exposeHeadRoute: false }, async (request, reply) => {
    const found = await item(context, request, 'review', 'quarantine_download');
    return sendFile(context, request, reply, found, async () => {});
  });

  // Release hands the file back and takes it out of the quarantine, once every byte was sent:
  // a transfer cut short leaves it held, to be released again.
  app.post<ItemParams>(`${base}/:id/release`, async (request, reply) => {
    const found = await item(context, request, 'manage', 'quarantine_release');
    return sendFile(context, request, reply, found, async () => {
      await quarantine.delete(found.record.id);
    });
  });

  app.delete<ItemParams>(`${base}/:id`, async (request) => {
    const { tenant, caller, record } = await item(context, request, 'manage', 'quarantine_delete');
    const entry: AuditBase = {
      action: 'quarantine_delete',
      subject: caller.subject,
      tenant,
      id: record.id,
      requestId: request.id,
    };
    const deleted = await orFailed(context, entry, () => quarantine.delete(record.id));
    audit(logger, { ...entry, outcome: deleted ? 'ok' : 'not_found' });
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
): Promise<Found> {
  const { id } = request.params;
  const tenant = context.access.tenant(request, request.params.tenant, action, id);
  const caller = await allowed(context.access, request, permission, tenant, action, id);
  const base = { action, subject: caller.subject, tenant, id, requestId: request.id };
  const record = await orFailed(context, base, () =>
    context.quarantine.get(id).catch((error: unknown) => {
      if (
        error instanceof QuarantineError &&
        (error.kind === 'not_found' || error.kind === 'invalid_id')
      )
        return undefined;
      throw error;
    }),
  );
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
  return { tenant, caller, record, action };
}

function notFound(id: string): GatewayHttpError {
  const shown = id.length > 64 ? `${JSON.stringify(id.slice(0, 64))}...` : JSON.stringify(id);
  return new GatewayHttpError(
    404,
    'BREAKWATER_QUARANTINE_NOT_FOUND',
    `Nothing is quarantined for this tenant under id ${shown}`,
  );
}

/** An audit line's fields, but for the outcome. */
type AuditBase = Omit<AuditEntry, 'outcome' | 'detail'>;

/**
 * Runs `work` for an authorized caller. An error it did not answer on purpose (an unreadable
 * record, a disk that fails) is audited as `failed` before the caller gets its 500.
 */
async function orFailed<T>(
  context: RouteContext,
  base: AuditBase,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof GatewayHttpError)) {
      const { code } = error as { code?: unknown };
      audit(context.logger, {
        ...base,
        outcome: 'failed',
        detail: { code: typeof code === 'string' ? code : 'BREAKWATER_INTERNAL' },
      });
    }
    throw error;
  }
}

/**
 * Streams the quarantined file (checked against its record's sha256 before the first byte and
 * again as it is read) as a download nobody's browser renders. Once every byte was written,
 * `sent()` runs (a release takes the file out of the quarantine there) and the action is audited
 * `ok`; an answer cut short is audited `failed`, and `sent()` does not run.
 */
async function sendFile(
  context: RouteContext,
  request: FastifyRequest<ItemParams>,
  reply: FastifyReply,
  { tenant, caller, record, action }: Found,
  sent: () => Promise<void>,
): Promise<FastifyReply> {
  const base: AuditBase = {
    action,
    subject: caller.subject,
    tenant,
    id: record.id,
    requestId: request.id,
  };
  let closed = false;
  let sending = false;
  // Listened for before retrieve: a client can leave while it hashes the file, and this is the
  // one place that sees it. A retrieve that failed was audited by orFailed (and answered 500).
  reply.raw.once('close', () => {
    closed = true;
    if (!reply.raw.writableFinished) {
      audit(context.logger, {
        ...base,
        outcome: 'failed',
        detail: { reason: 'the answer was cut short; the file stays as it was' },
      });
      return;
    }
    if (!sending) return;
    orFailed(context, base, sent).then(
      () => audit(context.logger, { ...base, outcome: 'ok', detail: { sha256: record.sha256 } }),
      () => {},
    );
  });
  const file = await orFailed(context, base, () => context.quarantine.retrieve(record.id));
  if (closed) {
    await file.close().catch(() => {});
    return reply;
  }
  sending = true;
  // A body destroyed before its first read never runs the reader's own close (a generator that
  // never started has no finally to run): closing it here holds no handle past the answer.
  const body = Readable.from(file.input.chunks());
  body.once('close', () => void file.close().catch(() => {}));
  return reply
    .header('content-type', 'application/octet-stream')
    .header('content-length', String(file.record.size))
    .header('content-disposition', attachment(file.record.filename, `${record.id}.bin`))
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .header('x-breakwater-sha256', file.record.sha256)
    .send(body);
}
