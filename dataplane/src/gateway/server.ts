import cors from '@fastify/cors';
import { fastify, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '@rudder/common';
import type { DataPlaneConfig } from '../config.ts';
import { installErrorHandling, routeOf } from './errors.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { registerOpsRoutes } from './ops-routes.ts';
import { attachLifecycle } from './readiness.ts';
import { registerIngestRoutes } from './routes.ts';
import type { GatewayStore, SourceDirectory } from './types.ts';

/** Everything the gateway server needs; the caller owns their lifecycles. */
export interface GatewayDeps {
  config: Pick<DataPlaneConfig, 'limits' | 'partitions'>;
  store: GatewayStore;
  sources: SourceDirectory;
  logger: Logger;
  /** The program's registry; the gateway registers its metrics here and serves it on `/metrics`. */
  metrics: Registry;
  /** Clock for `receivedAt`; tests pin it. */
  now?: () => Date;
  /** Take `request_ip` from the first `X-Forwarded-For` hop (default true; see `requestIp`). */
  trustForwardedFor?: boolean;
}

/**
 * Browsers post from any site that embeds the SDK, with the write key in
 * `Authorization` and cookies allowed; a day-long preflight cache saves an
 * OPTIONS round trip per event.
 */
const CORS_OPTIONS = {
  origin: true,
  credentials: true,
  methods: ['GET', 'POST', 'OPTIONS'],
  allowedHeaders: ['Authorization', 'Content-Type', 'AnonymousId'],
  maxAge: 86_400,
};

/**
 * Builds the ingestion HTTP server (not listening: the caller calls `listen`
 * and, on shutdown, `beginShutdown` then `close`).
 *
 * Built for throughput: fastify's own logger is off (no per-request child
 * logger or access log; errors are logged by the error handler), bodies are
 * read once as a Buffer whatever their Content-Type (SDKs send JSON, beacons
 * text/plain) and capped at `limits.maxRequestBytes` on the wire, including
 * when Content-Length announces more.
 */
export function createGatewayServer(deps: GatewayDeps): FastifyInstance {
  const { limits, partitions } = deps.config;
  const app = fastify({
    logger: false,
    bodyLimit: limits.maxRequestBytes,
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  const metrics = createGatewayMetrics(deps.metrics);
  const lifecycle = attachLifecycle(app);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  installErrorHandling(app, { logger: deps.logger, metrics, maxRequestBytes: limits.maxRequestBytes });
  app.addHook('onResponse', (request, reply, done) => {
    observe(metrics, routeOf(request), reply.statusCode, reply.elapsedTime, request.body);
    done();
  });
  app.addHook('preClose', (done) => {
    lifecycle.shuttingDown = true;
    done();
  });
  void app.register(cors, CORS_OPTIONS);

  registerIngestRoutes(app, {
    limits,
    partitions,
    store: deps.store,
    sources: deps.sources,
    logger: deps.logger,
    metrics,
    now: deps.now ?? (() => new Date()),
    trustForwardedFor: deps.trustForwardedFor ?? true,
  });
  registerOpsRoutes(app, { lifecycle, sources: deps.sources, store: deps.store, registry: deps.metrics });
  return app;
}

function observe(
  metrics: GatewayMetrics,
  route: string,
  status: number,
  elapsedMs: number,
  body: unknown,
): void {
  metrics.requests.inc({ route, status: String(status) });
  metrics.duration.observe({ route }, elapsedMs / 1000);
  if (Buffer.isBuffer(body)) metrics.bodyBytes.observe({ route }, body.length);
}
