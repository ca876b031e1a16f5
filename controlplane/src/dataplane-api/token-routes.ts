import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { tenantCall } from '../tenants/tenant-call.ts';
import { issueDataplaneToken } from './dataplane-tokens.ts';

const idParam = z.string().min(1).max(128);
const tenantParams = z.object({ tenantId: idParam });
const tokenParams = tenantParams.extend({ tokenId: idParam });

const dataplaneTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
});
type DataplaneToken = z.infer<typeof dataplaneTokenSchema>;

interface DataplaneTokenRow {
  id: string;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
}

const COLUMNS = 'id, name, created_at, last_used_at';

function toDataplaneToken(row: DataplaneTokenRow): DataplaneToken {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

/** Data-plane tokens of a tenant: create (shown once), list, revoke. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{tenantId}/dataplane-tokens',
    summary:
      "Create a token for the tenant's data plane to read its config; its secret is in this response only",
    tag: 'dataplane-tokens',
    auth: 'user',
    role: 'admin',
    params: tenantParams,
    body: z.strictObject({ name: z.string().trim().min(1).max(100) }),
    responses: {
      201: {
        description: 'the token, with its secret (shown once)',
        schema: dataplaneTokenSchema.extend({ token: z.string().describe('rdr_dp_...; store it now') }),
      },
    },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      const { created, token } = await ctx.deps.db.tx(async (tx) => {
        const issued = await issueDataplaneToken(tx, call.tenantId, ctx.body.name);
        const r = await tx.query<DataplaneTokenRow>(`SELECT ${COLUMNS} FROM dataplane_tokens WHERE id = $1`, [
          issued.id,
        ]);
        await call.audit(tx, {
          action: 'dataplane_token.create',
          objectType: 'dataplane_token',
          objectId: issued.id,
          changes: { name: ctx.body.name },
        });
        return { created: toDataplaneToken(r.rows[0]!), token: issued.token };
      });
      return { status: 201, body: { ...created, token } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/dataplane-tokens',
    summary: "The tenant's unrevoked data-plane tokens, without their secrets",
    tag: 'dataplane-tokens',
    auth: 'user',
    role: 'admin',
    params: tenantParams,
    responses: {
      200: { description: 'data-plane tokens', schema: z.object({ tokens: z.array(dataplaneTokenSchema) }) },
    },
    handler: async (ctx) => {
      const { tenantId } = tenantCall(ctx);
      const r = await ctx.deps.db.pool.query<DataplaneTokenRow>(
        `SELECT ${COLUMNS} FROM dataplane_tokens WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY created_at, id`,
        [tenantId],
      );
      return { body: { tokens: r.rows.map(toDataplaneToken) } };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/tenants/{tenantId}/dataplane-tokens/{tokenId}',
    summary: 'Revoke a data-plane token; its next call is refused. Revoking a revoked token is a no-op',
    tag: 'dataplane-tokens',
    auth: 'user',
    role: 'admin',
    params: tokenParams,
    responses: {
      204: { description: 'revoked' },
      404: { description: 'no such token in this tenant' },
    },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      const { tokenId } = ctx.params;
      await ctx.deps.db.tx(async (tx) => {
        // now() is this transaction's start, so it equals revoked_at only if this call revoked it.
        const r = await tx.query<{ revoked_now: boolean }>(
          `UPDATE dataplane_tokens SET revoked_at = coalesce(revoked_at, now())
           WHERE tenant_id = $1 AND id = $2
           RETURNING revoked_at = now() AS revoked_now`,
          [call.tenantId, tokenId],
        );
        const row = r.rows[0];
        if (!row) throw new RudderError('not_found', 'data-plane token not found');
        if (!row.revoked_now) return;
        await call.audit(tx, {
          action: 'dataplane_token.revoke',
          objectType: 'dataplane_token',
          objectId: tokenId,
        });
      });
      return { status: 204 };
    },
  }),
];
