import { z } from 'zod';
import { RudderError } from '@rudder/common';
import type { Queryable } from '../db/db.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { actorOf, roleSchema, type Role } from '../auth/principal.ts';
import { getInstance, instanceSchema } from '../jobs/instance-repo.ts';
import { getTenant } from './tenant-repo.ts';
import { tenantCall } from './tenant-call.ts';

const tenantParams = z.object({ tenantId: z.string().min(1).max(64) });

const tenantSchema = z.object({
  id: z.string(),
  name: z.string(),
  configVersion: z.number().int().describe('bumped by every change the data plane reads'),
  createdAt: z.iso.datetime(),
  instance: instanceSchema.optional().describe("the tenant's data plane, once onboarding has recorded it"),
});
type Tenant = z.infer<typeof tenantSchema>;

const tenantSummarySchema = tenantSchema.omit({ instance: true }).extend({
  role: roleSchema.describe("the caller's role in this tenant"),
});

interface TenantSummaryRow {
  id: string;
  name: string;
  config_version: number;
  created_at: Date;
  role: Role;
}

async function tenantWithInstance(q: Queryable, tenantId: string): Promise<Tenant> {
  // In turn, not in parallel: `q` may be a transaction's single client.
  const tenant = await getTenant(q, tenantId);
  const instance = await getInstance(q, tenantId);
  return instance === undefined ? tenant : { ...tenant, instance };
}

/** Tenants the caller belongs to: list, read, rename, delete. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/tenants',
    summary:
      "The tenants the caller belongs to, with the caller's role in each (an API token: its own tenant)",
    tag: 'tenants',
    auth: 'user',
    responses: {
      200: { description: 'tenants', schema: z.object({ tenants: z.array(tenantSummarySchema) }) },
    },
    handler: async ({ principal, deps }) => {
      if (principal?.kind !== 'user' && principal?.kind !== 'api-token')
        throw new RudderError('unauthorized', 'a user or API token is required');
      const r =
        principal.kind === 'user'
          ? await deps.db.pool.query<TenantSummaryRow>(
              `SELECT t.id, t.name, t.config_version, t.created_at, m.role
               FROM memberships m JOIN tenants t ON t.id = m.tenant_id
               WHERE m.user_id = $1 ORDER BY t.created_at, t.id`,
              [principal.userId],
            )
          : await deps.db.pool.query<TenantSummaryRow>(
              'SELECT id, name, config_version, created_at, $2::text AS role FROM tenants WHERE id = $1',
              [principal.tenantId, principal.role],
            );
      const tenants = r.rows.map((row) => ({
        id: row.id,
        name: row.name,
        configVersion: row.config_version,
        createdAt: row.created_at.toISOString(),
        role: row.role,
      }));
      return { body: { tenants } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}',
    summary: 'One tenant, with its data plane instance',
    tag: 'tenants',
    auth: 'user',
    role: 'viewer',
    params: tenantParams,
    responses: { 200: { description: 'the tenant', schema: tenantSchema } },
    handler: async (ctx) => {
      const { tenantId } = tenantCall(ctx);
      return { body: await tenantWithInstance(ctx.deps.db.pool, tenantId) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/tenants/{tenantId}',
    summary: 'Rename a tenant',
    tag: 'tenants',
    auth: 'user',
    role: 'admin',
    params: tenantParams,
    body: z.strictObject({ name: z.string().trim().min(1).max(100) }),
    responses: { 200: { description: 'the renamed tenant', schema: tenantSchema } },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      const tenant = await ctx.deps.db.tx(async (tx) => {
        // Locked, so the audited `from` is the name this update replaced.
        const before = await tx.query<{ name: string }>('SELECT name FROM tenants WHERE id = $1 FOR UPDATE', [
          call.tenantId,
        ]);
        const from = before.rows[0]?.name;
        if (from === undefined) throw new RudderError('not_found', 'tenant not found');
        if (from !== ctx.body.name) {
          await tx.query('UPDATE tenants SET name = $2 WHERE id = $1', [call.tenantId, ctx.body.name]);
          await call.audit(tx, {
            action: 'tenant.update',
            objectType: 'tenant',
            objectId: call.tenantId,
            changes: { name: { from, to: ctx.body.name } },
          });
        }
        return tenantWithInstance(tx, call.tenantId);
      });
      return { body: tenant };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/tenants/{tenantId}',
    summary:
      'Delete a tenant with everything in it: members, tokens, workspaces and their objects, audit log, jobs',
    tag: 'tenants',
    auth: 'user',
    role: 'owner',
    params: tenantParams,
    responses: { 204: { description: 'deleted' } },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      await ctx.deps.db.tx(async (tx) => {
        const r = await tx.query('DELETE FROM tenants WHERE id = $1', [call.tenantId]);
        if (r.rowCount === 0) throw new RudderError('not_found', 'tenant not found');
        // These tables keep no foreign key to tenants. A later tenant may be created with the
        // same id, and must not inherit this one's history; the deletion itself is logged below.
        await tx.query('DELETE FROM audit_log WHERE tenant_id = $1', [call.tenantId]);
        await tx.query('DELETE FROM jobs WHERE tenant_id = $1', [call.tenantId]);
      });
      ctx.log.info({ actor: actorOf(call.principal) }, 'tenant deleted');
      return { status: 204 };
    },
  }),
];
