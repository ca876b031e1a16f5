import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { defineRoute, type RouteSpec } from './route.ts';

const status = z.object({ status: z.string() });

/** Liveness, readiness (Postgres and Redis reachable) and Prometheus metrics. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/health',
    summary: 'Liveness: the process answers',
    tag: 'ops',
    auth: 'none',
    responses: { 200: { description: 'alive', schema: status } },
    handler: async () => ({ body: { status: 'ok' } }),
  }),
  defineRoute({
    method: 'get',
    path: '/ready',
    summary: 'Readiness: Postgres and Redis answer',
    tag: 'ops',
    auth: 'none',
    responses: { 200: { description: 'ready', schema: status }, 503: { description: 'not ready' } },
    handler: async ({ deps }) => {
      const [db, redis] = await Promise.all([
        deps.db.ping(),
        deps.redis.ping().then(
          () => true,
          () => false,
        ),
      ]);
      if (!db || !redis)
        throw new RudderError(
          'unavailable',
          `not ready: ${db ? '' : 'postgres '}${redis ? '' : 'redis'}`.trim(),
          {
            retryAfterSeconds: 1,
          },
        );
      return { body: { status: 'ready' } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    tag: 'ops',
    auth: 'none',
    responses: { 200: { description: 'text exposition format' } },
    handler: async ({ deps, res }) => {
      res.setHeader('content-type', deps.metrics.contentType);
      res.end(await deps.metrics.metrics());
      return undefined;
    },
  }),
];
