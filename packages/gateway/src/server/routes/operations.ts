import type { BreakerRegistry } from '@breakwater/core';
import type { DashboardHandler } from '@breakwater/dashboard';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { readiness } from '../readiness.js';

export interface OperationsContext {
  readonly registry: BreakerRegistry;
  /** Engine breaker names: all of them open is critical. */
  readonly engines: readonly string[];
  readonly metrics: Registry | undefined;
  readonly dashboard: DashboardHandler | undefined;
}

/** `/healthz` (alive), `/readyz` (the health roll-up), `/metrics` and `/dashboard/`, when enabled. */
export function operationsRoutes(app: FastifyInstance, context: OperationsContext): void {
  const { registry, engines, metrics, dashboard } = context;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const ready = readiness(registry, engines);
    reply.code(ready.status === 'critical' ? 503 : 200).header('cache-control', 'no-store');
    return { status: ready.status, breakers: ready.breakers };
  });

  if (metrics !== undefined) {
    app.get('/metrics', async (_request, reply) => {
      const text = await metrics.metrics();
      reply.header('content-type', metrics.contentType).header('cache-control', 'no-store');
      return text;
    });
  }

  if (dashboard !== undefined) {
    // The dashboard is a node:http handler with its own routing, headers and token checks.
    const serve = (request: FastifyRequest, reply: FastifyReply): void => {
      reply.hijack();
      // Headers set through the reply never reach a hijacked answer.
      reply.raw.setHeader('x-request-id', request.id);
      dashboard(request.raw, reply.raw);
    };
    app.all('/dashboard', serve);
    app.all('/dashboard/*', serve);
  }
}
