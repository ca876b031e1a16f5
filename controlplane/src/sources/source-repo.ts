import { RudderError } from '@rudder/common';
import type { Queryable } from '../db/db.ts';
import { newId, newWriteKey } from '../ids.ts';
import type { Source } from './source-schemas.ts';
import type { WorkspaceScope } from '../workspaces/workspace-scope.ts';

interface SourceRecord {
  id: string;
  workspace_id: string;
  name: string;
  write_key: string;
  enabled: boolean;
  dedup_window_seconds: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, workspace_id, name, write_key, enabled, dedup_window_seconds, created_at, updated_at';

function toSource(r: SourceRecord): Source {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    writeKey: r.write_key,
    enabled: r.enabled,
    dedupWindowSeconds: r.dedup_window_seconds,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** What a user sets on a source; the write key is always the server's. */
export interface SourceFields {
  name: string;
  enabled: boolean;
  dedupWindowSeconds: number;
}

/** The workspace's sources, oldest first. */
export async function listSources(q: Queryable, scope: WorkspaceScope): Promise<Source[]> {
  const r = await q.query<SourceRecord>(
    `SELECT ${COLUMNS} FROM sources WHERE tenant_id = $1 AND workspace_id = $2 ORDER BY created_at, id`,
    [scope.tenantId, scope.workspaceId],
  );
  return r.rows.map(toSource);
}

/**
 * A source of the workspace, or undefined. `lock` holds it until commit:
 * `update` before changing it, `share` while pointing a connection at it.
 */
export async function findSource(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  lock?: 'update' | 'share',
): Promise<Source | undefined> {
  const suffix = lock === 'update' ? ' FOR UPDATE' : lock === 'share' ? ' FOR KEY SHARE' : '';
  const r = await q.query<SourceRecord>(
    `SELECT ${COLUMNS} FROM sources WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3${suffix}`,
    [scope.tenantId, scope.workspaceId, id],
  );
  return r.rows[0] && toSource(r.rows[0]);
}

/** Like findSource, but a missing source is a 404. */
export async function getSource(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  lock?: 'update' | 'share',
): Promise<Source> {
  const found = await findSource(q, scope, id, lock);
  if (!found) throw new RudderError('not_found', 'source not found');
  return found;
}

/** Creates a source with a fresh write key. */
export async function insertSource(
  q: Queryable,
  scope: WorkspaceScope,
  fields: SourceFields,
): Promise<Source> {
  const r = await q.query<SourceRecord>(
    `INSERT INTO sources (tenant_id, workspace_id, id, name, write_key, enabled, dedup_window_seconds)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [
      scope.tenantId,
      scope.workspaceId,
      newId.source(),
      fields.name,
      newWriteKey(),
      fields.enabled,
      fields.dedupWindowSeconds,
    ],
  );
  return toSource(r.rows[0]!);
}

/** Writes a source's fields; the caller has checked it exists (and locked it). */
export async function updateSource(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  fields: SourceFields,
): Promise<Source> {
  const r = await q.query<SourceRecord>(
    `UPDATE sources SET name = $4, enabled = $5, dedup_window_seconds = $6, updated_at = now()
     WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3 RETURNING ${COLUMNS}`,
    [scope.tenantId, scope.workspaceId, id, fields.name, fields.enabled, fields.dedupWindowSeconds],
  );
  if (!r.rows[0]) throw new RudderError('not_found', 'source not found');
  return toSource(r.rows[0]);
}

/** Replaces a source's write key with a fresh one; the old key stops working with the next config. */
export async function rotateWriteKey(q: Queryable, scope: WorkspaceScope, id: string): Promise<Source> {
  const r = await q.query<SourceRecord>(
    `UPDATE sources SET write_key = $4, updated_at = now()
     WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3 RETURNING ${COLUMNS}`,
    [scope.tenantId, scope.workspaceId, id, newWriteKey()],
  );
  if (!r.rows[0]) throw new RudderError('not_found', 'source not found');
  return toSource(r.rows[0]);
}

/** Deletes a source (its connections go with it); false when there was none. */
export async function deleteSource(q: Queryable, scope: WorkspaceScope, id: string): Promise<boolean> {
  const r = await q.query('DELETE FROM sources WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3', [
    scope.tenantId,
    scope.workspaceId,
    id,
  ]);
  return (r.rowCount ?? 0) > 0;
}
