import type { Queryable } from '../db/db.ts';
import { isUniqueViolation } from '../db/db.ts';
import { newId } from '../ids.ts';
import { RudderError } from '@rudder/common';

export interface TenantRow {
  id: string;
  name: string;
  configVersion: number;
  createdAt: string;
}

/**
 * Creates a tenant with its owner and first workspace, or returns the existing
 * one when `id` already belongs to the same owner (so a retried onboarding
 * step does not fail or duplicate). Another owner's id is a conflict.
 */
export async function createTenant(
  q: Queryable,
  input: { id: string; name: string; ownerUserId: string; workspaceName?: string },
): Promise<{ tenant: TenantRow; workspaceId: string; created: boolean }> {
  const existing = await q.query<{ user_id: string; role: string }>(
    `SELECT user_id, role FROM memberships WHERE tenant_id = $1 AND role = 'owner' ORDER BY created_at LIMIT 1`,
    [input.id],
  );
  if (existing.rows[0]) {
    if (existing.rows[0].user_id !== input.ownerUserId)
      throw new RudderError('conflict', `tenant id "${input.id}" is taken`, {
        details: { field: 'body.id' },
      });
    const ws = await q.query<{ id: string }>(
      'SELECT id FROM workspaces WHERE tenant_id = $1 ORDER BY created_at LIMIT 1',
      [input.id],
    );
    return { tenant: await getTenant(q, input.id), workspaceId: ws.rows[0]?.id ?? '', created: false };
  }
  try {
    await q.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [input.id, input.name]);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new RudderError('conflict', `tenant id "${input.id}" is taken`, {
        details: { field: 'body.id' },
      });
    throw err;
  }
  await q.query(`INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')`, [
    input.id,
    input.ownerUserId,
  ]);
  const workspaceId = newId.workspace();
  await q.query('INSERT INTO workspaces (tenant_id, id, name) VALUES ($1, $2, $3)', [
    input.id,
    workspaceId,
    input.workspaceName ?? 'Default',
  ]);
  return { tenant: await getTenant(q, input.id), workspaceId, created: true };
}

export async function getTenant(q: Queryable, id: string): Promise<TenantRow> {
  const r = await q.query<{ id: string; name: string; config_version: number; created_at: Date }>(
    'SELECT id, name, config_version, created_at FROM tenants WHERE id = $1',
    [id],
  );
  const row = r.rows[0];
  if (!row) throw new RudderError('not_found', 'tenant not found');
  return {
    id: row.id,
    name: row.name,
    configVersion: row.config_version,
    createdAt: row.created_at.toISOString(),
  };
}
