import { Counter, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '@rudder/common';

/** The gateway's Prometheus metrics. */
export interface GatewayMetrics {
  /** Every answered request, by route pattern and HTTP status. */
  requests: Counter<'route' | 'status'>;
  /** Refused or failed requests by error code; pixel refusals too, although they answer 200. */
  rejected: Counter<'route' | 'code'>;
  /** Events of acknowledged requests: `stored`, or `duplicate` when the store dropped a repeat. */
  events: Counter<'outcome'>;
  duration: Histogram<'route'>;
  /** Request body size as received (compressed bodies count compressed). */
  bodyBytes: Histogram<'route'>;
}

/**
 * Registers the gateway metrics in `registry`, or reuses them when a gateway
 * was already created on it (a restart in the same process), because
 * prom-client refuses to register a name twice.
 */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    requests: counter(registry, 'rudder_gateway_requests_total', 'HTTP requests answered', [
      'route',
      'status',
    ]),
    rejected: counter(registry, 'rudder_gateway_rejected_requests_total', 'Requests refused, by error code', [
      'route',
      'code',
    ]),
    events: counter(registry, 'rudder_gateway_events_total', 'Events acknowledged to clients', ['outcome']),
    duration: histogram(
      registry,
      'rudder_gateway_request_duration_seconds',
      'Request latency',
      ['route'],
      [...LATENCY_BUCKETS_SECONDS],
    ),
    bodyBytes: histogram(
      registry,
      'rudder_gateway_request_body_bytes',
      'Request body size on the wire',
      ['route'],
      [256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216],
    ),
  };
}

function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

function histogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
  buckets: number[],
): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Histogram<L>;
  return new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
}
