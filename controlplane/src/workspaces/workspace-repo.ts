import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { isForeignKeyViolation, type Queryable } from '../db/db.ts';
import { newId } from '../ids.ts';

/** A workspace as the API shows it. */
export const workspaceSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Workspace = z.infer<typeof workspaceSchema>;

interface WorkspaceRow {
  id: string;
  name: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, created_at, updated_at';

function toWorkspace(row: WorkspaceRow): Workspace {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The tenant's workspaces, oldest first. */
export async function listWorkspaces(q: Queryable, tenantId: string): Promise<Workspace[]> {
  const r = await q.query<WorkspaceRow>(
    `SELECT ${COLUMNS} FROM workspaces WHERE tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  );
  return r.rows.map(toWorkspace);
}

/** One workspace of the tenant; 404 when the id is unknown or another tenant's. */
export async function getWorkspace(q: Queryable, tenantId: string, id: string): Promise<Workspace> {
  const r = await q.query<WorkspaceRow>(
    `SELECT ${COLUMNS} FROM workspaces WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  const row = r.rows[0];
  if (!row) throw new RudderError('not_found', 'workspace not found');
  return toWorkspace(row);
}

export async function insertWorkspace(q: Queryable, tenantId: string, name: string): Promise<Workspace> {
  const r = await q.query<WorkspaceRow>(
    `INSERT INTO workspaces (tenant_id, id, name) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
    [tenantId, newId.workspace(), name],
  );
  return toWorkspace(r.rows[0]!);
}

/** Renames a workspace; returns it before and after, so the caller can audit the change. */
export async function renameWorkspace(
  q: Queryable,
  tenantId: string,
  id: string,
  name: string,
): Promise<{ before: Workspace; after: Workspace }> {
  // Locks the row so `before` is the value this update replaced, not one a concurrent rename already changed.
  const r = await q.query<WorkspaceRow>(
    `SELECT ${COLUMNS} FROM workspaces WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
    [tenantId, id],
  );
  const row = r.rows[0];
  if (!row) throw new RudderError('not_found', 'workspace not found');
  const updated = await q.query<WorkspaceRow>(
    `UPDATE workspaces SET name = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, name],
  );
  return { before: toWorkspace(row), after: toWorkspace(updated.rows[0]!) };
}

/**
 * Deletes a workspace and, through the schema's cascades, its sources,
 * destinations, connections and transformations. Returns what was deleted.
 */
export async function deleteWorkspace(q: Queryable, tenantId: string, id: string): Promise<Workspace> {
  try {
    const r = await q.query<WorkspaceRow>(
      `DELETE FROM workspaces WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [tenantId, id],
    );
    const row = r.rows[0];
    if (!row) throw new RudderError('not_found', 'workspace not found');
    return toWorkspace(row);
  } catch (err) {
    // Transformation references do not cascade: a destination or connection of another
    // workspace may still use one of this workspace's transformations.
    if (isForeignKeyViolation(err))
      throw new RudderError(
        'conflict',
        "a transformation of this workspace is used by another workspace's destination or connection; detach it first",
      );
    throw err;
  }
}
