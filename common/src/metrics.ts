import { Registry, collectDefaultMetrics } from 'prom-client';

/** A fresh registry with the process metrics; one per program (tests create their own). */
export function createMetricsRegistry(prefix = 'rudder_'): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  return registry;
}

/** Latency buckets in seconds suited to HTTP handlers and database commits. */
export const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
