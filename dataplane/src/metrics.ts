import { Counter, Histogram, Gauge, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '@rudder/common';
import type { RouterMetrics } from './router/destination-worker.ts';

/** The worker's metrics (the gateway registers its own on the same registry). */
export function createWorkerMetrics(registry: Registry): {
  processor: { events: Counter<'outcome'>; batchSeconds: Histogram };
  router: RouterMetrics;
  gatewayCommit: { events: Counter; seconds: Histogram };
  datasetRows: Gauge<'table'>;
} {
  const registers = [registry];
  return {
    processor: {
      events: new Counter({
        name: 'rudder_processor_events_total',
        help: 'Events the processor handled, by outcome (handed_off, failed, dropped)',
        labelNames: ['outcome'],
        registers,
      }),
      batchSeconds: new Histogram({
        name: 'rudder_processor_batch_seconds',
        help: 'Time to process and commit one processor batch',
        buckets: LATENCY_BUCKETS_SECONDS,
        registers,
      }),
    },
    router: {
      jobs: new Counter({
        name: 'rudder_router_jobs_total',
        help: 'Delivery jobs by destination and outcome (succeeded, waiting, aborted)',
        labelNames: ['destination', 'outcome'],
        registers,
      }),
      requests: new Counter({
        name: 'rudder_router_requests_total',
        help: 'HTTP requests sent to destinations',
        labelNames: ['destination'],
        registers,
      }),
      roundSeconds: new Histogram({
        name: 'rudder_router_round_seconds',
        help: 'Time of one delivery round (read, deliver, record)',
        labelNames: ['destination'],
        buckets: LATENCY_BUCKETS_SECONDS,
        registers,
      }),
    },
    gatewayCommit: {
      events: new Counter({
        name: 'rudder_jobsdb_gateway_committed_events_total',
        help: 'Events committed by the gateway writer',
        registers,
      }),
      seconds: new Histogram({
        name: 'rudder_jobsdb_gateway_commit_seconds',
        help: 'Duration of one gateway group commit',
        buckets: LATENCY_BUCKETS_SECONDS,
        registers,
      }),
    },
    datasetRows: new Gauge({
      name: 'rudder_jobsdb_dataset_rows',
      help: 'Rows per jobs dataset table',
      labelNames: ['table'],
      registers,
    }),
  };
}
