import { RudderError, type EventFilter } from '@rudder/common';
import type { Queryable } from '../db/db.ts';
import { newId } from '../ids.ts';
import type { WorkspaceScope } from '../workspaces/workspace-scope.ts';
import type { Destination } from './destination-schemas.ts';

interface DestinationRecord {
  id: string;
  workspace_id: string;
  name: string;
  type: string;
  enabled: boolean;
  config: Record<string, unknown>;
  event_filter: EventFilter;
  delivery: Destination['delivery'];
  transformation_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, workspace_id, name, type, enabled, config, event_filter, delivery, transformation_id, created_at, updated_at';

function toDestination(r: DestinationRecord): Destination {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    type: r.type,
    enabled: r.enabled,
    config: r.config,
    eventFilter: r.event_filter,
    delivery: r.delivery,
    transformationId: r.transformation_id,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** Everything a user sets on a destination. */
export type DestinationFields = Pick<
  Destination,
  'name' | 'type' | 'enabled' | 'config' | 'eventFilter' | 'delivery' | 'transformationId'
>;

/** The workspace's destinations, oldest first. */
export async function listDestinations(q: Queryable, scope: WorkspaceScope): Promise<Destination[]> {
  const r = await q.query<DestinationRecord>(
    `SELECT ${COLUMNS} FROM destinations WHERE tenant_id = $1 AND workspace_id = $2 ORDER BY created_at, id`,
    [scope.tenantId, scope.workspaceId],
  );
  return r.rows.map(toDestination);
}

/**
 * A destination of the workspace, or undefined. `lock` holds it until
 * commit: `update` before changing or deleting it, `share` while pointing a
 * connection at it.
 */
export async function findDestination(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  lock?: 'update' | 'share',
): Promise<Destination | undefined> {
  const suffix = lock === 'update' ? ' FOR UPDATE' : lock === 'share' ? ' FOR KEY SHARE' : '';
  const r = await q.query<DestinationRecord>(
    `SELECT ${COLUMNS} FROM destinations WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3${suffix}`,
    [scope.tenantId, scope.workspaceId, id],
  );
  return r.rows[0] && toDestination(r.rows[0]);
}

/** Like findDestination, but a missing destination is a 404. */
export async function getDestination(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  lock?: 'update' | 'share',
): Promise<Destination> {
  const found = await findDestination(q, scope, id, lock);
  if (!found) throw new RudderError('not_found', 'destination not found');
  return found;
}

function values(f: DestinationFields): unknown[] {
  return [
    f.name,
    f.type,
    f.enabled,
    JSON.stringify(f.config),
    JSON.stringify(f.eventFilter),
    JSON.stringify(f.delivery),
    f.transformationId,
  ];
}

/** Creates a destination; the caller has validated the fields against the catalog. */
export async function insertDestination(
  q: Queryable,
  scope: WorkspaceScope,
  fields: DestinationFields,
): Promise<Destination> {
  const r = await q.query<DestinationRecord>(
    `INSERT INTO destinations
       (tenant_id, workspace_id, id, name, type, enabled, config, event_filter, delivery, transformation_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
    [scope.tenantId, scope.workspaceId, newId.destination(), ...values(fields)],
  );
  return toDestination(r.rows[0]!);
}

/** Writes all of a destination's fields; the caller has validated them and holds the row's lock. */
export async function updateDestination(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  fields: DestinationFields,
): Promise<Destination> {
  const r = await q.query<DestinationRecord>(
    `UPDATE destinations SET name = $4, type = $5, enabled = $6, config = $7, event_filter = $8,
       delivery = $9, transformation_id = $10, updated_at = now()
     WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3 RETURNING ${COLUMNS}`,
    [scope.tenantId, scope.workspaceId, id, ...values(fields)],
  );
  if (!r.rows[0]) throw new RudderError('not_found', 'destination not found');
  return toDestination(r.rows[0]);
}

/** Deletes a destination (its connections go with it); false when there was none. */
export async function deleteDestination(q: Queryable, scope: WorkspaceScope, id: string): Promise<boolean> {
  const r = await q.query('DELETE FROM destinations WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3', [
    scope.tenantId,
    scope.workspaceId,
    id,
  ]);
  return (r.rowCount ?? 0) > 0;
}
