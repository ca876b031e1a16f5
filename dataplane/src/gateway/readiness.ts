import type { FastifyInstance } from 'fastify';
import type { GatewayStore, SourceDirectory } from './types.ts';

/** Shutdown state of one gateway server. */
export interface Lifecycle {
  shuttingDown: boolean;
}

const lifecycles = new WeakMap<FastifyInstance, Lifecycle>();

/** Associates a server with its lifecycle state (called by createGatewayServer). */
export function attachLifecycle(app: FastifyInstance): Lifecycle {
  const lifecycle: Lifecycle = { shuttingDown: false };
  lifecycles.set(app, lifecycle);
  return lifecycle;
}

/**
 * Makes `GET /ready` answer 503 from now on while requests are still served.
 * On SIGTERM, call this first, wait for the load balancer to notice (a
 * readiness period or two), then `app.close()` to drain in-flight requests:
 * closing straight away would refuse requests the balancer still sends.
 * `app.close()` also flips readiness, for callers that skip this step.
 */
export function beginShutdown(app: FastifyInstance): void {
  const lifecycle = lifecycles.get(app);
  if (lifecycle === undefined) throw new Error('beginShutdown: not a gateway server');
  lifecycle.shuttingDown = true;
}

/** Why the gateway should not receive traffic, or undefined when it is ready. */
export async function unreadyReason(
  lifecycle: Lifecycle,
  sources: SourceDirectory,
  store: GatewayStore,
): Promise<string | undefined> {
  if (lifecycle.shuttingDown) return 'shutting down';
  if (!sources.isReady()) return 'workspace configuration not loaded yet';
  try {
    if (!(await store.isHealthy())) return 'jobs database unavailable';
  } catch {
    // A failing health probe means the same as an unhealthy store; the store logs its own errors.
    return 'jobs database unavailable';
  }
  return undefined;
}
