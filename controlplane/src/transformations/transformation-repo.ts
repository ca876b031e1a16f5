import { RudderError } from '@rudder/common';
import type { Queryable } from '../db/db.ts';
import { newId } from '../ids.ts';
import type { WorkspaceScope } from '../workspaces/workspace-scope.ts';
import type {
  Transformation,
  TransformationSummary,
  TransformationVersion,
  TransformationVersionSummary,
} from './transformation-schemas.ts';

interface TransformationRecord {
  id: string;
  workspace_id: string;
  name: string;
  current_version: number;
  created_at: Date;
  updated_at: Date;
}

interface VersionRecord {
  version: number;
  code: string;
  created_by: string | null;
  created_at: Date;
}

const COLUMNS = 't.id, t.workspace_id, t.name, t.current_version, t.created_at, t.updated_at';

function toSummary(r: TransformationRecord): TransformationSummary {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    name: r.name,
    // The schema allows no other language.
    language: 'javascript',
    currentVersion: r.current_version,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function toVersion(r: VersionRecord): TransformationVersion {
  return {
    version: r.version,
    code: r.code,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
  };
}

/** The workspace's transformations, oldest first, without code. */
export async function listTransformations(
  q: Queryable,
  scope: WorkspaceScope,
): Promise<TransformationSummary[]> {
  const r = await q.query<TransformationRecord>(
    `SELECT ${COLUMNS} FROM transformations t WHERE t.tenant_id = $1 AND t.workspace_id = $2
     ORDER BY t.created_at, t.id`,
    [scope.tenantId, scope.workspaceId],
  );
  return r.rows.map(toSummary);
}

/**
 * A transformation of the workspace with its current code, or undefined.
 * `lock` holds it until commit: `update` before changing or deleting it,
 * `share` while attaching it to a destination or connection.
 */
export async function findTransformation(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  lock?: 'update' | 'share',
): Promise<Transformation | undefined> {
  const suffix = lock === 'update' ? ' FOR UPDATE OF t' : lock === 'share' ? ' FOR KEY SHARE OF t' : '';
  const r = await q.query<TransformationRecord & { code: string }>(
    `SELECT ${COLUMNS}, v.code FROM transformations t
     JOIN transformation_versions v
       ON v.tenant_id = t.tenant_id AND v.transformation_id = t.id AND v.version = t.current_version
     WHERE t.tenant_id = $1 AND t.workspace_id = $2 AND t.id = $3${suffix}`,
    [scope.tenantId, scope.workspaceId, id],
  );
  const row = r.rows[0];
  return row && { ...toSummary(row), code: row.code };
}

/** Like findTransformation, but a missing transformation is a 404. */
export async function getTransformation(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  lock?: 'update' | 'share',
): Promise<Transformation> {
  const found = await findTransformation(q, scope, id, lock);
  if (!found) throw new RudderError('not_found', 'transformation not found');
  return found;
}

/** Creates a transformation whose version 1 is `code`. */
export async function insertTransformation(
  q: Queryable,
  scope: WorkspaceScope,
  input: { name: string; code: string; createdBy: string },
): Promise<Transformation> {
  const id = newId.transformation();
  await q.query(
    `INSERT INTO transformations (tenant_id, workspace_id, id, name, current_version) VALUES ($1, $2, $3, $4, 1)`,
    [scope.tenantId, scope.workspaceId, id, input.name],
  );
  await q.query(
    `INSERT INTO transformation_versions (tenant_id, transformation_id, version, code, created_by)
     VALUES ($1, $2, 1, $3, $4)`,
    [scope.tenantId, id, input.code, input.createdBy],
  );
  return getTransformation(q, scope, id);
}

/**
 * Renames a transformation and, when `code` is given, saves it as the next
 * version and makes that current. The caller holds the row's lock.
 */
export async function updateTransformation(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  change: { name: string; code: string | undefined; createdBy: string },
): Promise<Transformation> {
  let version: number | undefined;
  if (change.code !== undefined) {
    const next = await q.query<{ version: number }>(
      `INSERT INTO transformation_versions (tenant_id, transformation_id, version, code, created_by)
       SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4
       FROM transformation_versions WHERE tenant_id = $1 AND transformation_id = $2
       RETURNING version`,
      [scope.tenantId, id, change.code, change.createdBy],
    );
    version = next.rows[0]!.version;
  }
  await q.query(
    `UPDATE transformations SET name = $4, current_version = COALESCE($5, current_version), updated_at = now()
     WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3`,
    [scope.tenantId, scope.workspaceId, id, change.name, version ?? null],
  );
  return getTransformation(q, scope, id);
}

/** A transformation's versions, newest first, without code. */
export async function listVersions(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
): Promise<TransformationVersionSummary[]> {
  await getTransformation(q, scope, id);
  const r = await q.query<Omit<VersionRecord, 'code'>>(
    `SELECT version, created_by, created_at FROM transformation_versions
     WHERE tenant_id = $1 AND transformation_id = $2 ORDER BY version DESC`,
    [scope.tenantId, id],
  );
  return r.rows.map((row) => ({
    version: row.version,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
  }));
}

/** One version of a transformation with its code; 404 when either is unknown. */
export async function getVersion(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  version: number,
): Promise<TransformationVersion> {
  await getTransformation(q, scope, id);
  const r = await q.query<VersionRecord>(
    `SELECT version, code, created_by, created_at FROM transformation_versions
     WHERE tenant_id = $1 AND transformation_id = $2 AND version = $3`,
    [scope.tenantId, id, version],
  );
  if (!r.rows[0]) throw new RudderError('not_found', 'transformation version not found');
  return toVersion(r.rows[0]);
}

/** The destinations and connections that run a transformation (any workspace of the tenant). */
export async function transformationUsers(
  q: Queryable,
  tenantId: string,
  id: string,
): Promise<{ destinationIds: string[]; connectionIds: string[] }> {
  const r = await q.query<{ kind: 'destination' | 'connection'; id: string }>(
    `SELECT 'destination' AS kind, id FROM destinations WHERE tenant_id = $1 AND transformation_id = $2
     UNION ALL
     SELECT 'connection', id FROM connections WHERE tenant_id = $1 AND transformation_id = $2
     ORDER BY 1, 2`,
    [tenantId, id],
  );
  return {
    destinationIds: r.rows.filter((row) => row.kind === 'destination').map((row) => row.id),
    connectionIds: r.rows.filter((row) => row.kind === 'connection').map((row) => row.id),
  };
}

/** Deletes a transformation with its versions; the caller has checked nothing uses it. */
export async function deleteTransformation(q: Queryable, scope: WorkspaceScope, id: string): Promise<void> {
  await q.query('DELETE FROM transformations WHERE tenant_id = $1 AND workspace_id = $2 AND id = $3', [
    scope.tenantId,
    scope.workspaceId,
    id,
  ]);
}
