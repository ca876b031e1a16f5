import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createLogger, createMetricsRegistry, type Logger } from '@rudder/common';
import type { ControlPlaneConfig } from './config.ts';
import { Db } from './db/db.ts';
import { migrate } from './db/migrate.ts';
import { AccessTokens } from './auth/tokens.ts';
import { LoginLimiter } from './auth/login-limiter.ts';
import { Queues } from './jobs/queues.ts';
import { startJobWorkers } from './jobs/workers.ts';
import { createKube } from './jobs/kube-client.ts';
import { ConfigEvents } from './dataplane-api/config-events.ts';
import { TenantConfigCache } from './dataplane-api/config-cache.ts';
import { createHttpApp } from './http/server.ts';
import { allRoutes } from './http/routes.ts';
import type { AppDeps } from './http/deps.ts';

/** A running control plane; `stop` drains it. */
export interface ControlPlane {
  url: string;
  deps: AppDeps;
  stop(): Promise<void>;
}

/** Starts the control plane: migrations, HTTP API, config change listener and job workers. */
export async function startControlPlane(
  cfg: ControlPlaneConfig,
  options: { logger?: Logger } = {},
): Promise<ControlPlane> {
  const logger = options.logger ?? createLogger('rudder-controlplane', { level: cfg.logLevel });
  if (cfg.database.migrateOnStart)
    await migrate({ url: cfg.database.url, schema: cfg.database.schema }, logger);

  const db = new Db(cfg.database);
  const redis = new Redis(cfg.redis.url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  redis.on('error', (err) => logger.warn({ error: String(err) }, 'redis connection error'));
  // BullMQ wants commands to wait for a reconnect rather than fail.
  const bullConnection = new Redis(cfg.redis.url, { maxRetriesPerRequest: null });
  bullConnection.on('error', (err) => logger.warn({ error: String(err) }, 'redis (jobs) connection error'));

  const configEvents = new ConfigEvents({ url: cfg.database.url, logger });
  await configEvents.start();

  const deps: AppDeps = {
    config: cfg,
    db,
    logger,
    redis,
    accessTokens: new AccessTokens({
      secret: cfg.auth.jwtSecret,
      ttlSeconds: cfg.auth.accessTokenTtlSeconds,
    }),
    loginLimiter: new LoginLimiter({
      redis,
      prefix: cfg.redis.prefix,
      maxFailures: cfg.auth.loginMaxFailures,
      windowSeconds: cfg.auth.loginWindowSeconds,
    }),
    queues: new Queues({ connection: bullConnection, prefix: cfg.redis.prefix }),
    configEvents,
    configCache: new TenantConfigCache({ pool: db.pool }),
    kube: cfg.kubernetes.mode === 'kubeconfig' ? await createKube(cfg, logger) : undefined,
    metrics: createMetricsRegistry('rudder_controlplane_'),
  };

  const app = createHttpApp(deps, allRoutes);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(cfg.http.port, cfg.http.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // Long-polls outlive the default keep-alive; let them finish rather than be cut by the server.
  server.requestTimeout = (cfg.limits.configMaxWaitSeconds + 30) * 1000;
  const { port } = server.address() as AddressInfo;
  const url = `http://${cfg.http.host}:${port}`;

  const workers = startJobWorkers(deps);
  logger.info({ url }, 'control plane started');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      logger.info('control plane stopping');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Wake held long-polls so they answer 304 now instead of holding the shutdown.
      await configEvents.stop();
      server.closeIdleConnections();
      await closed;
      await workers.close();
      await deps.queues.close();
      await bullConnection.quit().catch(() => {});
      await redis.quit().catch(() => {});
      await db.close();
      logger.info('control plane stopped');
    })());

  return { url, deps, stop };
}
