import { z } from 'zod';
import type { Queryable } from '../db/db.ts';

export const INSTANCE_STATUSES = ['pending', 'creating', 'ready', 'failed'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** A tenant's data-plane deployment as the control plane tracks it. */
export interface Instance {
  tenantId: string;
  /** The RudderInstance's name. */
  name: string;
  status: InstanceStatus;
  message: string;
  dataplaneTokenId: string | null;
  updatedAt: string;
}

/** The response schema of an instance (OpenAPI). */
export const instanceSchema = z.object({
  tenantId: z.string(),
  name: z.string(),
  status: z.enum(INSTANCE_STATUSES),
  message: z.string(),
  dataplaneTokenId: z.string().nullable(),
  updatedAt: z.string(),
});

interface InstanceRow {
  tenant_id: string;
  name: string;
  status: InstanceStatus;
  message: string;
  dataplane_token_id: string | null;
  updated_at: Date;
}

function toInstance(row: InstanceRow): Instance {
  return {
    tenantId: row.tenant_id,
    name: row.name,
    status: row.status,
    message: row.message,
    dataplaneTokenId: row.dataplane_token_id,
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function getInstance(q: Queryable, tenantId: string): Promise<Instance | undefined> {
  const r = await q.query<InstanceRow>('SELECT * FROM instances WHERE tenant_id = $1', [tenantId]);
  return r.rows[0] && toInstance(r.rows[0]);
}

/**
 * The tenant's instance row, created as `pending` when missing, locked until
 * the transaction `q` ends: concurrent runs of one onboarding serialize here.
 */
export async function lockInstance(q: Queryable, tenantId: string): Promise<Instance> {
  await q.query(
    `INSERT INTO instances (tenant_id, name, status, message) VALUES ($1, $1, 'pending', 'provisioning')
     ON CONFLICT (tenant_id) DO NOTHING`,
    [tenantId],
  );
  const r = await q.query<InstanceRow>('SELECT * FROM instances WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
  return toInstance(r.rows[0]!);
}

export async function setInstanceToken(q: Queryable, tenantId: string, tokenId: string): Promise<void> {
  await q.query('UPDATE instances SET dataplane_token_id = $2, updated_at = now() WHERE tenant_id = $1', [
    tenantId,
    tokenId,
  ]);
}

export async function setInstanceStatus(
  q: Queryable,
  tenantId: string,
  status: InstanceStatus,
  message: string,
): Promise<void> {
  await q.query('UPDATE instances SET status = $2, message = $3, updated_at = now() WHERE tenant_id = $1', [
    tenantId,
    status,
    message,
  ]);
}
