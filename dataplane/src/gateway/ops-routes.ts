import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { RudderError } from '@rudder/common';
import { sendFailure } from './errors.ts';
import { unreadyReason, type Lifecycle } from './readiness.ts';
import type { GatewayStore, SourceDirectory } from './types.ts';

/**
 * Probes and metrics: `GET /health` (liveness: the process serves HTTP; it
 * checks nothing else, so a database outage never gets pods restarted),
 * `GET /ready` (503 until sources are loaded and the store is healthy, and
 * from the start of shutdown) and `GET /metrics` (Prometheus text).
 */
export function registerOpsRoutes(
  app: FastifyInstance,
  deps: { lifecycle: Lifecycle; sources: SourceDirectory; store: GatewayStore; registry: Registry },
): void {
  app.get('/health', () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    const reason = await unreadyReason(deps.lifecycle, deps.sources, deps.store);
    if (reason === undefined) return { status: 'ready' };
    const error = new RudderError('unavailable', `not ready: ${reason}`);
    return sendFailure(reply, { status: error.status, error });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(text);
  });
}
