import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../route-context.js';
import { scanFiles } from './scan-files.js';

/**
 * `POST /v1/tenants/:tenant/scans`: one file as the raw body (`X-Filename`) or any number in a
 * multipart form, each scanned as it streams in; 200 with a verdict per file, blocked or not
 * (the verdict is the answer). Needs `scan` on the tenant, asked before a byte of the body is read.
 */
export function scanRoutes(app: FastifyInstance, context: RouteContext): void {
  const { access } = context;
  app.post<{ Params: { tenant: string } }>('/v1/tenants/:tenant/scans', async (request, reply) => {
    const tenant = access.tenant(request, request.params.tenant, 'scan');
    const caller = access.authenticate(request, 'scan', tenant);
    await access.authorize(request, caller, 'scan', tenant, 'scan');
    const files = await scanFiles(request, reply, context, { tenant, caller, endpoint: 'gateway' });
    return { tenant, files };
  });
}
