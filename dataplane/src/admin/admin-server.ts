import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { RudderError, toRudderError, type Logger } from '@rudder/common';
import {
  countFailedEvents,
  datasetSizes,
  getFailedEvent,
  listFailedEvents,
  type JobsDb,
} from '../jobsdb/index.ts';
import type { ConfigStore } from '../config/config-store.ts';
import type { UserTransformer } from '../processor/user-transformer.ts';
import type { WorkerReport } from '@rudder/common/partition-map';
import { redriveFailedEvents } from './redrive.ts';

const listQuery = z.object({
  destinationId: z.string().optional(),
  sourceId: z.string().optional(),
  stage: z.enum(['processor', 'router']).optional(),
  includeRedriven: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const redriveBody = z.object({ ids: z.array(z.number().int().positive()).min(1).max(10_000) });

/**
 * The data plane's operator API: failed events (list, inspect, re-drive),
 * queue statistics, the worker's partition ownership and its metrics (a
 * worker-only process has no gateway to serve them). It listens on its own
 * address (loopback by default) and requires a bearer token when one is
 * configured.
 */
export function createAdminServer(deps: {
  db: JobsDb;
  config: ConfigStore;
  transformer: UserTransformer;
  token: string | undefined;
  logger: Logger;
  /** Served on `GET /metrics`. */
  registry?: Registry;
  /** This worker's partition report (`GET /admin/v1/ownership`); absent for a gateway. */
  ownership?: { report(): WorkerReport };
}): FastifyInstance {
  const app = Fastify({ logger: false });
  app.setErrorHandler((err, _req, reply) => {
    const error =
      err instanceof z.ZodError
        ? new RudderError(
            'invalid_request',
            err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
          )
        : toRudderError(err);
    if (error.code === 'internal') deps.logger.error({ err }, 'admin request failed');
    void reply.status(error.status).send(error.toBody());
  });
  if (deps.token) {
    const expected = Buffer.from(`Bearer ${deps.token}`);
    app.addHook('onRequest', async (req) => {
      // Liveness/readiness probes (the kubelet sends no token) may see that the process is up; nothing more.
      if (req.url === '/health') return;
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new RudderError('unauthorized', 'admin API needs Authorization: Bearer <ADMIN_TOKEN>');
      }
    });
  }

  app.get('/admin/v1/failed-events', async (req) => {
    const q = listQuery.parse(req.query);
    const events = await listFailedEvents(deps.db.pool, {
      limit: q.limit,
      ...(q.destinationId === undefined ? {} : { destinationId: q.destinationId }),
      ...(q.sourceId === undefined ? {} : { sourceId: q.sourceId }),
      ...(q.stage === undefined ? {} : { stage: q.stage }),
      ...(q.includeRedriven === undefined ? {} : { includeRedriven: q.includeRedriven }),
      ...(q.after === undefined ? {} : { afterId: q.after }),
    });
    const last = events[events.length - 1];
    return { events, next: events.length === q.limit && last ? `?after=${last.id}&limit=${q.limit}` : null };
  });

  app.get<{ Params: { id: string } }>('/admin/v1/failed-events/:id', async (req) => {
    const id = z.coerce.number().int().positive().parse(req.params.id);
    const event = await getFailedEvent(deps.db.pool, id);
    if (!event) throw new RudderError('not_found', `failed event ${id} not found`);
    return event;
  });

  app.post('/admin/v1/failed-events/redrive', async (req) => {
    const { ids } = redriveBody.parse(req.body);
    const report = await redriveFailedEvents(ids, deps);
    deps.logger.info(
      { redriven: report.redriven.length, refused: report.refused.length },
      'failed events re-driven',
    );
    return report;
  });

  app.get('/admin/v1/stats', async () => ({
    datasets: await datasetSizes(deps.db.pool),
    failedEvents: await countFailedEvents(deps.db.pool),
    configVersion: deps.config.config?.version ?? null,
  }));

  app.get('/admin/v1/ownership', async () => {
    if (!deps.ownership)
      throw new RudderError('not_found', 'this data plane runs no worker: it owns no partitions');
    return deps.ownership.report();
  });

  const registry = deps.registry;
  if (registry)
    app.get('/metrics', async (_req, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );

  app.get('/health', async () => ({ ok: true }));
  return app;
}
