import type { ConfigStore, Route } from '../config/config-store.ts';
import { destinationTypes, parseDestinationConfig } from '../destinations/registry.ts';

/**
 * The route a replay sends through: the enabled connection from its source
 * to its destination in the running config, with the connection's
 * transformation. A string says, for the control plane, why there is none.
 * Requiring the connection keeps a replay from bypassing a transformation
 * that, say, strips personal data.
 */
export function resolveReplayRoute(
  config: ConfigStore,
  sourceId: string,
  destinationId: string,
): Route | string {
  if (!config.sourceExists(sourceId)) return `source ${sourceId} is not in the data plane's workspace config`;
  const destination = config.destinations().get(destinationId);
  if (!destination) return `destination ${destinationId} is not in the data plane's workspace config`;
  if (!destination.enabled) return `destination ${destinationId} is disabled`;
  if (!destinationTypes.has(destination.type))
    return `destination ${destinationId} has unknown type ${destination.type}`;
  try {
    parseDestinationConfig(destination.type, destination.config);
  } catch (err) {
    return `destination ${destinationId}: ${err instanceof Error ? err.message : String(err)}`;
  }
  const route = config.routesOf(sourceId).find((r) => r.destination.id === destinationId);
  if (!route)
    return `destination ${destinationId} is not connected to source ${sourceId}, or the connection is disabled`;
  return route;
}
