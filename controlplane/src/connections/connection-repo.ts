import { RudderError } from '@rudder/common';
import type { Queryable } from '../db/db.ts';
import { isUniqueViolation } from '../db/db.ts';
import { newId } from '../ids.ts';
import type { WorkspaceScope } from '../workspaces/workspace-scope.ts';
import type { Connection } from './connection-schemas.ts';

interface ConnectionRecord {
  id: string;
  workspace_id: string;
  source_id: string;
  destination_id: string;
  enabled: boolean;
  transformation_id: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, workspace_id, source_id, destination_id, enabled, transformation_id, created_at, updated_at';

function toConnection(r: ConnectionRecord): Connection {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    sourceId: r.source_id,
    destinationId: r.destination_id,
    enabled: r.enabled,
    transformationId: r.transformation_id,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** What may change on a connection; its source and destination are fixed. */
export interface ConnectionFields {
  enabled: boolean;
  transformationId: string | null;
}

/** The workspace's connections, oldest first. */
export async function listConnections(q: Queryable, scope: WorkspaceScope): Promise<Connection[]> {
  const r = await q.query<ConnectionRecord>(
    `SELECT ${COLUMNS} FROM connections WHERE tenant_id = $1 AND workspace_id = $2 ORDER BY created_at, id`,
    [scope.tenantId, scope.workspaceId],
  );
  return r.rows.map(toConnection);
}

/** A connection of the workspace, or a 404; `lock` holds it for an update until commit. */
export async function getConnection(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  options: { lock?: boolean } = {},
): Promise<Connection> {
  const r = await q.query<ConnectionRecord>(
    `SELECT ${COLUMNS} FROM connections WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3${
      options.lock ? ' FOR UPDATE' : ''
    }`,
    [scope.tenantId, scope.workspaceId, id],
  );
  if (!r.rows[0]) throw new RudderError('not_found', 'connection not found');
  return toConnection(r.rows[0]);
}

/** Ids of the connections from or to an object, which deleting it removes too. */
export async function connectionIdsOf(
  q: Queryable,
  scope: WorkspaceScope,
  end: { sourceId: string } | { destinationId: string },
): Promise<string[]> {
  const [column, id] =
    'sourceId' in end ? ['source_id', end.sourceId] : ['destination_id', end.destinationId];
  const r = await q.query<{ id: string }>(
    `SELECT id FROM connections WHERE tenant_id = $1 AND workspace_id = $2 AND ${column} = $3 ORDER BY id`,
    [scope.tenantId, scope.workspaceId, id],
  );
  return r.rows.map((row) => row.id);
}

/**
 * Connects a source to a destination; a second connection of the same pair
 * is a 409 naming the existing one.
 */
export async function insertConnection(
  q: Queryable,
  scope: WorkspaceScope,
  input: ConnectionFields & { sourceId: string; destinationId: string },
): Promise<Connection> {
  const existing = await q.query<{ id: string }>(
    'SELECT id FROM connections WHERE tenant_id = $1 AND source_id = $2 AND destination_id = $3',
    [scope.tenantId, input.sourceId, input.destinationId],
  );
  if (existing.rows[0]) throw duplicate(input, existing.rows[0].id);
  try {
    const r = await q.query<ConnectionRecord>(
      `INSERT INTO connections (tenant_id, workspace_id, id, source_id, destination_id, enabled, transformation_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [
        scope.tenantId,
        scope.workspaceId,
        newId.connection(),
        input.sourceId,
        input.destinationId,
        input.enabled,
        input.transformationId,
      ],
    );
    return toConnection(r.rows[0]!);
  } catch (err) {
    // Two concurrent creates of one pair: the loser sees the constraint, not the pre-check.
    if (isUniqueViolation(err)) throw duplicate(input, undefined);
    throw err;
  }
}

function duplicate(pair: { sourceId: string; destinationId: string }, existingId: string | undefined) {
  return new RudderError('conflict', 'this source is already connected to this destination', {
    details: {
      sourceId: pair.sourceId,
      destinationId: pair.destinationId,
      ...(existingId === undefined ? {} : { connectionId: existingId }),
    },
  });
}

/** Writes a connection's fields; the caller has checked it exists (and locked it). */
export async function updateConnection(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  fields: ConnectionFields,
): Promise<Connection> {
  const r = await q.query<ConnectionRecord>(
    `UPDATE connections SET enabled = $4, transformation_id = $5, updated_at = now()
     WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3 RETURNING ${COLUMNS}`,
    [scope.tenantId, scope.workspaceId, id, fields.enabled, fields.transformationId],
  );
  if (!r.rows[0]) throw new RudderError('not_found', 'connection not found');
  return toConnection(r.rows[0]);
}

/** Deletes a connection; false when there was none. */
export async function deleteConnection(q: Queryable, scope: WorkspaceScope, id: string): Promise<boolean> {
  const r = await q.query('DELETE FROM connections WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3', [
    scope.tenantId,
    scope.workspaceId,
    id,
  ]);
  return (r.rowCount ?? 0) > 0;
}
