export { createGatewayServer, type GatewayDeps } from './server.ts';
export { beginShutdown } from './readiness.ts';
export type { GatewayStore, SourceDirectory, ResolvedSource, GatewayLimits } from './types.ts';
export { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
