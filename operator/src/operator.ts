import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as k8s from '@kubernetes/client-node';
import { createLogger, type Logger } from '@rudder/common';
import { loadKubeConfig } from '@rudder/common/kube-config';
import type { OperatorConfig } from './config.ts';
import { Controller } from './controller/controller.ts';
import { LeaderElector } from './controller/leader-election.ts';
import { FIELD_MANAGER } from './desired/index.ts';
import { ClusterApi } from './kube/cluster-api.ts';
import { EventRecorder } from './kube/events.ts';
import { PartitionApi } from './kube/partition-api.ts';
import { createOperatorMetrics, type OperatorMetrics } from './metrics.ts';
import { Reconciler } from './reconcile/reconciler.ts';

export interface RunningOperator {
  /** http://host:port of /metrics, /healthz and /readyz. */
  metricsUrl: string;
  metrics: OperatorMetrics;
  isLeader(): boolean;
  /** Stops reconciling, releases the Lease and closes the HTTP server. */
  stop(): Promise<void>;
}

export interface StartOptions {
  kubeconfig?: k8s.KubeConfig;
  logger?: Logger;
  /** Leadership lost: the default (main.ts) exits so the pod restarts as a clean candidate. */
  onLostLeadership?: () => void;
}

/**
 * Starts the operator: the metrics/health server at once, then campaigns for
 * the Lease (unless leader election is off) and runs the controller only
 * while it leads.
 */
export async function startOperator(
  cfg: OperatorConfig,
  options: StartOptions = {},
): Promise<RunningOperator> {
  const logger = options.logger ?? createLogger('rudder-operator', { level: cfg.logLevel });
  const lib = await import('@kubernetes/client-node');
  const kc = options.kubeconfig ?? loadKubeConfig();
  const metrics = createOperatorMetrics();
  const api = new ClusterApi(lib, kc, FIELD_MANAGER);
  const reconciler = new Reconciler({
    api,
    events: new EventRecorder(lib, kc, logger),
    logger,
    operatorNamespace: cfg.namespace,
    requeueNotReadyMs: cfg.requeueNotReadyMs,
    workerSets: new PartitionApi(lib, kc),
  });
  const controller = new Controller({
    lib,
    kc,
    api,
    reconciler,
    metrics,
    logger,
    workers: cfg.workers,
    resyncMs: cfg.resyncMs,
    backoff: cfg.backoff,
  });

  // A new leader is not ready until its caches are filled; a standby is ready (it has nothing to do).
  let syncing = false;
  const lead = (): void => {
    metrics.leader.set(1);
    syncing = true;
    controller.start().then(
      () => (syncing = false),
      (err: unknown) => logger.error({ error: String(err) }, 'controller failed to start'),
    );
  };
  const elector = cfg.leaderElection.enabled
    ? new LeaderElector(lib, kc, {
        namespace: cfg.namespace,
        leaseName: cfg.leaderElection.leaseName,
        identity: cfg.identity,
        durationSeconds: cfg.leaderElection.durationSeconds,
        renewSeconds: cfg.leaderElection.renewSeconds,
        logger,
        onStartedLeading: lead,
        onStoppedLeading: () => {
          metrics.leader.set(0);
          void controller.stop().then(() => options.onLostLeadership?.());
        },
      })
    : undefined;

  const server = await serveMetrics(cfg, metrics, () => !syncing);
  const address = server.address() as AddressInfo;
  const metricsUrl = `http://${cfg.metrics.host}:${address.port}`;
  logger.info(
    { metricsUrl, identity: cfg.identity, leaderElection: cfg.leaderElection.enabled },
    'operator started',
  );
  if (elector) elector.start();
  else lead();

  return {
    metricsUrl,
    metrics,
    isLeader: () => (elector ? elector.isLeader : true),
    stop: async () => {
      await controller.stop();
      await elector?.release();
      metrics.leader.set(0);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info('operator stopped');
    },
  };
}

async function serveMetrics(
  cfg: OperatorConfig,
  metrics: OperatorMetrics,
  ready: () => boolean,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' || ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok' : 'not ready');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.metrics.port, cfg.metrics.host, () => resolve());
  });
  return server;
}
