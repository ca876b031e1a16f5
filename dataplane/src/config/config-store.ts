import { EventEmitter } from 'node:events';
import type { DestinationConfig, SourceConfig, TransformationConfig, WorkspaceConfig } from '@rudder/common';

/** A destination reached from a source, with what the processor needs to feed it. */
export interface Route {
  destination: DestinationConfig;
  transformation: TransformationConfig | undefined;
}

interface Indexed {
  config: WorkspaceConfig;
  byWriteKey: Map<string, { source: SourceConfig; workspaceId: string }>;
  routesBySource: Map<string, Route[]>;
  destinations: Map<string, DestinationConfig>;
}

/**
 * The running configuration, indexed for the hot paths (write key lookup,
 * routes of a source). Swapped atomically on reload; listeners hear 'change'.
 */
export class ConfigStore extends EventEmitter<{ change: [WorkspaceConfig] }> {
  private current: Indexed | undefined;

  /** Installs a new config; readers see either the old or the new one, never a mix. */
  set(config: WorkspaceConfig): void {
    this.current = index(config);
    this.emit('change', config);
  }

  get config(): WorkspaceConfig | undefined {
    return this.current?.config;
  }

  isReady(): boolean {
    return this.current !== undefined;
  }

  byWriteKey(writeKey: string): { source: SourceConfig; workspaceId: string } | undefined {
    return this.current?.byWriteKey.get(writeKey);
  }

  /** Enabled destinations connected to a source, through enabled connections. */
  routesOf(sourceId: string): Route[] {
    return this.current?.routesBySource.get(sourceId) ?? [];
  }

  sourceExists(sourceId: string): boolean {
    return this.current?.routesBySource.has(sourceId) ?? false;
  }

  /** Every destination in the config (enabled or not), by id. */
  destinations(): Map<string, DestinationConfig> {
    return this.current?.destinations ?? new Map<string, DestinationConfig>();
  }
}

function index(config: WorkspaceConfig): Indexed {
  const byWriteKey = new Map<string, { source: SourceConfig; workspaceId: string }>();
  const routesBySource = new Map<string, Route[]>();
  const destinations = new Map<string, DestinationConfig>();
  for (const ws of config.workspaces) {
    const wsDestinations = new Map(ws.destinations.map((d) => [d.id, d]));
    const transformations = new Map(ws.transformations.map((t) => [t.id, t]));
    for (const d of ws.destinations) destinations.set(d.id, d);
    for (const source of ws.sources) {
      byWriteKey.set(source.writeKey, { source, workspaceId: ws.id });
      routesBySource.set(source.id, []);
    }
    for (const c of ws.connections) {
      const destination = wsDestinations.get(c.destinationId);
      const routes = routesBySource.get(c.sourceId);
      if (!c.enabled || !destination || !destination.enabled || !routes) continue;
      routes.push({
        destination,
        transformation:
          c.transformationId === undefined ? undefined : transformations.get(c.transformationId),
      });
    }
  }
  return { config, byWriteKey, routesBySource, destinations };
}
