import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from '@rudder/common';

/** The operator's Prometheus metrics (prefix `rudder_operator_`). */
export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileErrors: Counter<'reason'>;
  reconcileDuration: Histogram;
  queueDepth: Gauge;
  watchRestarts: Counter<'informer'>;
  leader: Gauge;
  instances: Gauge;
}

export function createOperatorMetrics(): OperatorMetrics {
  const registry = createMetricsRegistry('rudder_operator_');
  return {
    registry,
    reconciles: new Counter({
      name: 'rudder_operator_reconciles_total',
      help: 'Reconciles of RudderInstances by result (success, requeue, error, deleted, paused)',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'rudder_operator_reconcile_errors_total',
      help: 'Failed reconciles by Degraded reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'rudder_operator_reconcile_duration_seconds',
      help: 'Time of one reconcile of one RudderInstance',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'rudder_operator_queue_depth',
      help: 'RudderInstances waiting in the work queue',
      registers: [registry],
    }),
    watchRestarts: new Counter({
      name: 'rudder_operator_watch_restarts_total',
      help: 'Watches restarted after an error, by informer',
      labelNames: ['informer'],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'rudder_operator_leader',
      help: '1 while this replica holds the leader Lease',
      registers: [registry],
    }),
    instances: new Gauge({
      name: 'rudder_operator_instances',
      help: 'RudderInstances in the informer cache',
      registers: [registry],
    }),
  };
}
