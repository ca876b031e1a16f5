import type pg from 'pg';
import { parseWorkspaceConfig, type WorkspaceConfig } from '@rudder/common';

interface Rows {
  workspaces: { id: string; name: string }[];
  sources: {
    id: string;
    workspace_id: string;
    name: string;
    write_key: string;
    enabled: boolean;
    dedup_window_seconds: number;
  }[];
  destinations: {
    id: string;
    workspace_id: string;
    name: string;
    type: string;
    enabled: boolean;
    config: Record<string, unknown>;
    event_filter: Record<string, unknown>;
    delivery: Record<string, unknown>;
    transformation_id: string | null;
  }[];
  connections: {
    workspace_id: string;
    source_id: string;
    destination_id: string;
    enabled: boolean;
    transformation_id: string | null;
  }[];
  transformations: {
    id: string;
    workspace_id: string;
    name: string;
    language: string;
    current_version: number;
    code: string;
  }[];
}

/**
 * Reads a tenant's whole data-plane config at one snapshot (REPEATABLE READ,
 * so the version and the objects agree) and returns it with its version.
 */
export async function loadTenantConfig(
  pool: pg.Pool,
  tenantId: string,
): Promise<{ version: number; config: WorkspaceConfig } | undefined> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tenant = await client.query<{ config_version: number }>(
      'SELECT config_version FROM tenants WHERE id = $1',
      [tenantId],
    );
    const version = tenant.rows[0]?.config_version;
    if (version === undefined) {
      await client.query('COMMIT');
      return undefined;
    }
    const q = async <K extends keyof Rows>(sql: string): Promise<Rows[K]> =>
      (await client.query(sql, [tenantId])).rows as Rows[K];
    const rows: Rows = {
      workspaces: await q<'workspaces'>(
        'SELECT id, name FROM workspaces WHERE tenant_id = $1 ORDER BY created_at, id',
      ),
      sources: await q<'sources'>(
        `SELECT id, workspace_id, name, write_key, enabled, dedup_window_seconds
         FROM sources WHERE tenant_id = $1 ORDER BY created_at, id`,
      ),
      destinations: await q<'destinations'>(
        `SELECT id, workspace_id, name, type, enabled, config, event_filter, delivery, transformation_id
         FROM destinations WHERE tenant_id = $1 ORDER BY created_at, id`,
      ),
      connections: await q<'connections'>(
        `SELECT workspace_id, source_id, destination_id, enabled, transformation_id
         FROM connections WHERE tenant_id = $1 ORDER BY created_at, id`,
      ),
      transformations: await q<'transformations'>(
        `SELECT t.id, t.workspace_id, t.name, t.language, t.current_version, v.code
         FROM transformations t
         JOIN transformation_versions v
           ON v.tenant_id = t.tenant_id AND v.transformation_id = t.id AND v.version = t.current_version
         WHERE t.tenant_id = $1 ORDER BY t.created_at, t.id`,
      ),
    };
    await client.query('COMMIT');
    return { version, config: assemble(tenantId, version, rows) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * The rows in the data plane's shape (common/src/workspace-config.ts), parsed
 * by the same schema the data plane uses, so a config it would refuse is never
 * served.
 */
function assemble(tenantId: string, version: number, rows: Rows): WorkspaceConfig {
  const destinationTransformation = new Map(rows.destinations.map((d) => [d.id, d.transformation_id]));
  return parseWorkspaceConfig({
    tenantId,
    version: String(version),
    workspaces: rows.workspaces.map((ws) => ({
      id: ws.id,
      name: ws.name,
      sources: rows.sources
        .filter((s) => s.workspace_id === ws.id)
        .map((s) => ({
          id: s.id,
          name: s.name,
          writeKey: s.write_key,
          enabled: s.enabled,
          dedupWindowSeconds: s.dedup_window_seconds,
        })),
      destinations: rows.destinations
        .filter((d) => d.workspace_id === ws.id)
        .map((d) => ({
          id: d.id,
          name: d.name,
          type: d.type,
          enabled: d.enabled,
          config: d.config,
          eventFilter: d.event_filter,
          delivery: d.delivery,
        })),
      connections: rows.connections
        .filter((c) => c.workspace_id === ws.id)
        .map((c) => {
          // A connection's own transformation wins over the one attached to its destination.
          const transformationId =
            c.transformation_id ?? destinationTransformation.get(c.destination_id) ?? null;
          return {
            sourceId: c.source_id,
            destinationId: c.destination_id,
            enabled: c.enabled,
            ...(transformationId === null ? {} : { transformationId }),
          };
        }),
      transformations: rows.transformations
        .filter((t) => t.workspace_id === ws.id)
        .map((t) => ({
          id: t.id,
          versionId: String(t.current_version),
          name: t.name,
          language: t.language,
          code: t.code,
        })),
    })),
  });
}
