import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { Agent } from 'undici';
import { createLogger, createMetricsRegistry, type Logger } from '@rudder/common';
import { createPool } from '@rudder/common/pg';
import type { DataPlaneConfig, OwnershipSettings } from './config.ts';
import { JobsDb, archiveSizes, datasetSizes } from './jobsdb/index.ts';
import { ConfigStore } from './config/config-store.ts';
import { FileConfigSource } from './config/file-config.ts';
import { loadCachedConfig, saveCachedConfig } from './config/config-cache.ts';
import { controlPlaneConfigFetcher } from './config/config-client.ts';
import { HttpConfigSource } from './config/http-config.ts';
import { Processor } from './processor/processor.ts';
import { UnavailableUserTransformer } from './processor/user-transformer.ts';
import { Router } from './router/router.ts';
import { createAdminServer } from './admin/admin-server.ts';
import { createGatewayServer } from './gateway/server.ts';
import { beginShutdown } from './gateway/readiness.ts';
import { createWorkerMetrics } from './metrics.ts';
import { ReplayAgent } from './replay/replay-agent.ts';
import { HttpReplayApi } from './replay/replay-api.ts';
import { ReplayExecutor } from './replay/replay-executor.ts';
import {
  FileMapSource,
  FileReportSink,
  kubernetesOwnership,
  LeaseStore,
  NoReportSink,
  OwnershipManager,
  StaticMapSource,
  type PartitionMapSource,
  type ReportSink,
} from './ownership/index.ts';

/** A running data plane; `stop` drains it (see ADR 0002 for the order). */
export interface DataPlane {
  /** `http://host:port` of the ingestion API, when this process runs the gateway. */
  gatewayUrl: string | undefined;
  adminUrl: string;
  db: JobsDb;
  config: ConfigStore;
  /** The control-plane config link, when CONTROL_PLANE_URL is set (its state and last sync). */
  controlPlaneConfig: HttpConfigSource | undefined;
  /** The worker's partition ownership (its leases and report); undefined for a gateway. */
  ownership: OwnershipManager | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the data plane in its role: `gateway` (ingestion API), `worker`
 * (processor and router over the partitions it owns), or `all`.
 */
export async function startDataPlane(
  cfg: DataPlaneConfig,
  options: { logger?: Logger } = {},
): Promise<DataPlane> {
  const logger = options.logger ?? createLogger('rudder-dataplane', { level: cfg.logLevel });
  const registry = createMetricsRegistry();
  const metrics = createWorkerMetrics(registry);
  const db = new JobsDb({
    url: cfg.database.url,
    schema: cfg.database.schema,
    poolSize: cfg.database.poolSize,
    partitions: cfg.partitions,
    gatewayBatch: cfg.gatewayBatch,
    maintenance: {
      datasetMaxRows: cfg.jobsdb.datasetMaxRows,
      datasetMaxAgeSeconds: cfg.jobsdb.datasetMaxAgeSeconds,
      archiveRetentionHours: cfg.jobsdb.archiveRetentionHours,
    },
    onGatewayCommit: (events, seconds) => {
      metrics.gatewayCommit.events.inc(events);
      metrics.gatewayCommit.seconds.observe(seconds);
    },
  });
  await migrateWithRetry(db, logger);

  const config = new ConfigStore();
  // One connection pool to the control plane for the config long-poll and the replay endpoints.
  const controlPlaneAgent = cfg.controlPlane ? new Agent({ connect: { timeout: 5_000 } }) : undefined;
  let fileSource: FileConfigSource | undefined;
  let httpSource: HttpConfigSource | undefined;
  if (cfg.controlPlane && controlPlaneAgent) {
    httpSource = new HttpConfigSource({
      fetch: controlPlaneConfigFetcher({
        url: cfg.controlPlane.url,
        token: cfg.controlPlane.token,
        dispatcher: controlPlaneAgent,
      }),
      store: config,
      cache: { load: () => loadCachedConfig(db.pool), save: (c) => saveCachedConfig(db.pool, c) },
      logger: logger.child({ component: 'config' }),
      waitSeconds: cfg.controlPlane.waitSeconds,
    });
    await httpSource.start();
  } else if (cfg.configFile) {
    fileSource = new FileConfigSource({ path: cfg.configFile, store: config, pool: db.pool, logger });
    await fileSource.start();
  } else {
    const cached = await loadCachedConfig(db.pool);
    if (!cached)
      throw new Error(
        'no workspace config: set CONTROL_PLANE_URL or CONFIG_FILE (no cached config in the database yet)',
      );
    logger.warn(
      'neither CONTROL_PLANE_URL nor CONFIG_FILE is set; running on the config cached in the database',
    );
    config.set(cached);
  }

  const transformer = new UnavailableUserTransformer();
  const runsGateway = cfg.role !== 'worker';

  let router: Router | undefined;
  let processor: Processor | undefined;
  let leasePool: pg.Pool | undefined;
  let ownership: OwnershipManager | undefined;
  if (cfg.ownership) {
    // Its own two connections: lease renewals must never queue behind busy processor and router rounds.
    leasePool = createPool({
      url: cfg.database.url,
      schema: cfg.database.schema,
      max: 2,
      applicationName: 'rudder-leases',
    });
    ownership = await startOwnership(cfg.ownership, cfg.partitions, leasePool, {
      logger: logger.child({ component: 'ownership' }),
      metrics: metrics.ownership,
      onGained: () => {
        processor?.wake();
        router?.wakeAll();
      },
    });
    const owner = ownership;
    router = new Router({
      db,
      config,
      partitions: () => owner.partitions(),
      rounds: owner,
      fence: owner.fence('router'),
      settings: cfg.router,
      logger: logger.child({ component: 'router' }),
      metrics: metrics.router,
    });
    const r = router;
    processor = new Processor({
      db,
      config,
      transformer,
      partitions: () => owner.partitions(),
      rounds: owner,
      fence: owner.fence('processor'),
      batchSize: cfg.processor.batchSize,
      pollMs: cfg.processor.pollMs,
      logger: logger.child({ component: 'processor' }),
      metrics: metrics.processor,
      onHandoff: (destinations) => r.wake(destinations),
    });
    router.start();
    processor.start();
  }
  const runsWorker = ownership !== undefined;

  let replayAgent: ReplayAgent | undefined;
  if (runsWorker && cfg.controlPlane) {
    const r = router;
    replayAgent = new ReplayAgent({
      api: new HttpReplayApi({
        url: cfg.controlPlane.url,
        token: cfg.controlPlane.token,
        logger: logger.child({ component: 'replay' }),
        ...(controlPlaneAgent ? { dispatcher: controlPlaneAgent } : {}),
      }),
      executor: new ReplayExecutor({
        pool: db.pool,
        config,
        transformer,
        chunkSize: cfg.replay.chunkSize,
        onEnqueued: (destinationId) => r?.wake([destinationId]),
        ...(cfg.ownership ? { leaseMs: cfg.ownership.leaseMs } : {}),
      }),
      pollMs: cfg.replay.pollSeconds * 1000,
      logger: logger.child({ component: 'replay' }),
    });
    replayAgent.start();
  }

  const maintenance = startMaintenance(db, cfg.jobsdb.maintenanceIntervalMs, metrics.datasetRows, logger);

  let gateway: FastifyInstance | undefined;
  let gatewayUrl: string | undefined;
  if (runsGateway) {
    const p = processor;
    gateway = createGatewayServer({
      config: { limits: cfg.limits, partitions: cfg.partitions },
      store: {
        writeGateway: async (write) => {
          const result = await db.writeGateway(write);
          p?.wake();
          return result;
        },
        isHealthy: () => db.isHealthy() || db.ping(),
      },
      sources: config,
      logger: logger.child({ component: 'gateway' }),
      metrics: registry,
    });
    gatewayUrl = await gateway.listen({ host: cfg.http.host, port: cfg.http.port });
  }

  const admin = createAdminServer({
    db,
    config,
    transformer,
    token: cfg.admin.token,
    logger: logger.child({ component: 'admin' }),
    registry,
    ...(ownership ? { ownership } : {}),
  });
  const adminUrl = await admin.listen({ host: cfg.admin.host, port: cfg.admin.port });
  logger.info(
    {
      role: cfg.role,
      gatewayUrl,
      adminUrl,
      partitions: cfg.partitions,
      ...(cfg.ownership
        ? {
            worker: cfg.ownership.workerId,
            ordinal: cfg.ownership.ordinal,
            partitionMapSource: cfg.ownership.source.kind,
          }
        : {}),
      config: httpSource
        ? { source: 'control-plane', state: httpSource.state, lastSyncAt: httpSource.lastSyncAt }
        : { source: fileSource ? 'file' : 'cache' },
    },
    'data plane started',
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      logger.info('data plane stopping: draining');
      if (gateway) beginShutdown(gateway);
      // Order matters: stop taking requests and let the acknowledged ones commit, then let workers finish.
      await gateway?.close();
      await db.flushGateway();
      await replayAgent?.stop();
      await processor?.stop();
      await router?.stop();
      // Only now that no round runs: release the leases so the next owners take over at once.
      await ownership?.stop();
      await leasePool?.end();
      await maintenance.stop();
      await fileSource?.stop();
      await httpSource?.stop();
      await controlPlaneAgent?.close();
      await admin.close();
      await transformer.close();
      await db.close();
      logger.info('data plane stopped');
    })());

  return { gatewayUrl, adminUrl, db, config, controlPlaneConfig: httpSource, ownership, stop };
}

/** The worker's ownership manager on the map source and report sink its settings name, started. */
async function startOwnership(
  settings: OwnershipSettings,
  partitions: number,
  pool: pg.Pool,
  deps: {
    logger: Logger;
    metrics: ReturnType<typeof createWorkerMetrics>['ownership'];
    onGained: () => void;
  },
): Promise<OwnershipManager> {
  const incarnation = randomBytes(6).toString('hex');
  const store = new LeaseStore({
    pool,
    owner: `${settings.workerId}/${incarnation}`,
    ttlMs: settings.leaseMs,
  });
  let source: PartitionMapSource;
  let sink: ReportSink;
  switch (settings.source.kind) {
    case 'static':
      // Never below an epoch a published map left in the leases: those could not be taken back.
      source = new StaticMapSource({
        partitions,
        ordinal: settings.ordinal,
        epoch: Math.max(1, await store.maxEpoch()),
      });
      sink = new NoReportSink();
      break;
    case 'file':
      source = new FileMapSource({ dir: settings.source.dir, logger: deps.logger });
      sink = new FileReportSink({ dir: settings.source.dir, workerId: settings.workerId });
      break;
    case 'kubernetes':
      ({ source, sink } = await kubernetesOwnership({
        namespace: settings.source.namespace,
        workerId: settings.workerId,
        logger: deps.logger,
      }));
      break;
  }
  const manager = new OwnershipManager({
    store,
    source,
    sink,
    workerId: settings.workerId,
    incarnation,
    ordinal: settings.ordinal,
    partitions,
    leaseMs: settings.leaseMs,
    acquirePollMs: settings.acquirePollMs,
    reportIntervalMs: settings.reportIntervalMs,
    logger: deps.logger,
    metrics: deps.metrics,
    onGained: deps.onGained,
  });
  deps.logger.info(
    {
      worker: settings.workerId,
      incarnation,
      ordinal: settings.ordinal,
      source: settings.source.kind,
      leaseSeconds: settings.leaseMs / 1000,
    },
    'partition ownership starting',
  );
  await manager.start();
  return manager;
}

async function migrateWithRetry(db: JobsDb, logger: Logger): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.migrate();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      logger.warn({ attempt, error: String(err) }, 'database not ready; retrying');
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
    }
  }
}

function startMaintenance(
  db: JobsDb,
  intervalMs: number,
  gauge: ReturnType<typeof createWorkerMetrics>['datasetRows'],
  logger: Logger,
): { stop(): Promise<void> } {
  let current: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    current = current.then(async () => {
      try {
        const report = await db.runMaintenance();
        if (
          report.rotated.length > 0 ||
          report.dropped.length > 0 ||
          report.archived.length > 0 ||
          report.expired.length > 0
        )
          logger.info(report, 'jobs datasets maintained');
        gauge.reset();
        for (const d of await datasetSizes(db.pool)) gauge.set({ table: d.table }, d.rows);
        for (const a of await archiveSizes(db.pool)) gauge.set({ table: a.table }, a.rows);
      } catch (err) {
        logger.warn({ error: String(err) }, 'jobs maintenance failed; will retry');
      }
    });
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await current;
    },
  };
}
