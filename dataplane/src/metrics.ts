import { Counter, Histogram, Gauge, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '@rudder/common';
import type { RouterMetrics } from './router/destination-worker.ts';
import type { OwnershipMetrics } from './ownership/ownership-manager.ts';

/** The worker's metrics (the gateway registers its own on the same registry). */
export function createWorkerMetrics(registry: Registry): {
  processor: { events: Counter<'outcome'>; batchSeconds: Histogram };
  router: RouterMetrics;
  gatewayCommit: { events: Counter; seconds: Histogram };
  datasetRows: Gauge<'table'>;
  ownership: OwnershipMetrics;
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
    ownership: {
      held: new Gauge({
        name: 'rudder_partitions_held',
        help: 'Partition leases this worker holds for partitions its current map assigns it',
        registers,
      }),
      epoch: new Gauge({
        name: 'rudder_partition_map_epoch',
        help: 'Epoch of the partition map this worker acts on (0 before the first map)',
        registers,
      }),
      handoffs: new Counter({
        name: 'rudder_partition_handoffs_total',
        help: 'Partitions moved by map changes: taken over (in) or handed over (out) by this worker',
        labelNames: ['direction'],
        registers,
      }),
      fencedCommits: new Counter({
        name: 'rudder_partition_fenced_commits_total',
        help: 'Commits refused by the partition fence (lease lost or expired), by stage',
        labelNames: ['stage'],
        registers,
      }),
      leaseAcquires: new Counter({
        name: 'rudder_partition_lease_acquires_total',
        help: 'Partition leases acquired',
        registers,
      }),
      leaseReleases: new Counter({
        name: 'rudder_partition_lease_releases_total',
        help: 'Partition leases released',
        registers,
      }),
      leasesLost: new Counter({
        name: 'rudder_partition_leases_lost_total',
        help: 'Partition leases given up without a release, by reason (expired, taken, renew_failed, fenced)',
        labelNames: ['reason'],
        registers,
      }),
      settleSeconds: new Histogram({
        name: 'rudder_partition_settle_seconds',
        help: 'Time from a partition map change to this worker holding exactly what the map assigns it',
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120],
        registers,
      }),
    },
  };
}
