import { Counter, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '@rudder/common';

/** Request count and latency per route template (never per concrete path: ids would explode the series). */
export function httpMetrics(
  registry: Registry,
): (method: string, route: string, status: number, seconds: number) => void {
  const requests = new Counter({
    name: 'rudder_controlplane_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'rudder_controlplane_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  return (method, route, status, seconds) => {
    requests.inc({ method, route, status: String(status) });
    duration.observe({ method, route }, seconds);
  };
}
