import { z } from 'zod';
import { RudderError } from '@rudder/common';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { newId } from '../ids.ts';
import { tenantCall } from '../tenants/tenant-call.ts';
import { actorOf, roleAtLeast } from './principal.ts';
import { newOpaqueToken } from './tokens.ts';

/** API tokens act within one tenant with at most the admin role; owners are people. */
const apiTokenRole = z.enum(['admin', 'member', 'viewer']);

const idParam = z.string().min(1).max(128);
const tenantParams = z.object({ tenantId: idParam });
const tokenParams = tenantParams.extend({ tokenId: idParam });

const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: apiTokenRole,
  createdBy: z.string().nullable().describe('id of the user or API token that created it'),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
});
type ApiToken = z.infer<typeof apiTokenSchema>;

interface ApiTokenRow {
  id: string;
  name: string;
  role: ApiToken['role'];
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = 'id, name, role, created_by, created_at, expires_at, last_used_at';

function toApiToken(row: ApiTokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

/** API tokens for automation: create (shown once), list, revoke. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{tenantId}/api-tokens',
    summary: 'Create an API token; its secret is in this response only',
    tag: 'api-tokens',
    auth: 'user',
    role: 'admin',
    params: tenantParams,
    body: z.strictObject({
      name: z.string().trim().min(1).max(100),
      role: apiTokenRole,
      expiresInDays: z.number().int().min(1).max(3650).optional(),
    }),
    responses: {
      201: {
        description: 'the token, with its secret (shown once)',
        schema: apiTokenSchema.extend({ token: z.string().describe('rdr_api_...; store it now') }),
      },
      403: { description: 'not an admin, or a role above the caller' },
    },
    handler: async (ctx) => {
      const { body, deps } = ctx;
      const call = tenantCall(ctx);
      // Re-checked here, not only by the route's role, so that loosening that role cannot let anyone escalate.
      if (!roleAtLeast(call.role, body.role))
        throw new RudderError(
          'forbidden',
          `you cannot create a token with a role above yours (${call.role})`,
        );
      const { token, hash } = newOpaqueToken('api');
      const created = await deps.db.tx(async (tx) => {
        const r = await tx.query<ApiTokenRow>(
          `INSERT INTO api_tokens (id, tenant_id, name, role, token_hash, created_by, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(days => $7))
           RETURNING ${COLUMNS}`,
          [
            newId.apiToken(),
            call.tenantId,
            body.name,
            body.role,
            hash,
            actorOf(call.principal).id,
            body.expiresInDays ?? null,
          ],
        );
        const row = toApiToken(r.rows[0]!);
        await call.audit(tx, {
          action: 'api_token.create',
          objectType: 'api_token',
          objectId: row.id,
          changes: { name: row.name, role: row.role, expiresAt: row.expiresAt },
        });
        return row;
      });
      return { status: 201, body: { ...created, token } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/api-tokens',
    summary: "The tenant's unrevoked API tokens, without their secrets",
    tag: 'api-tokens',
    auth: 'user',
    role: 'admin',
    params: tenantParams,
    responses: { 200: { description: 'API tokens', schema: z.object({ tokens: z.array(apiTokenSchema) }) } },
    handler: async (ctx) => {
      const { tenantId } = tenantCall(ctx);
      const r = await ctx.deps.db.pool.query<ApiTokenRow>(
        `SELECT ${COLUMNS} FROM api_tokens WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY created_at, id`,
        [tenantId],
      );
      return { body: { tokens: r.rows.map(toApiToken) } };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/tenants/{tenantId}/api-tokens/{tokenId}',
    summary: 'Revoke an API token; it stops working at once. Revoking a revoked token is a no-op',
    tag: 'api-tokens',
    auth: 'user',
    role: 'admin',
    params: tokenParams,
    responses: {
      204: { description: 'revoked' },
      404: { description: 'no such token in this tenant' },
    },
    handler: async (ctx) => {
      const { params, deps } = ctx;
      const call = tenantCall(ctx);
      await deps.db.tx(async (tx) => {
        // now() is this transaction's start, so it equals revoked_at only if this call revoked it.
        const r = await tx.query<{ revoked_now: boolean }>(
          `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
           WHERE tenant_id = $1 AND id = $2
           RETURNING revoked_at = now() AS revoked_now`,
          [call.tenantId, params.tokenId],
        );
        const row = r.rows[0];
        if (!row) throw new RudderError('not_found', 'API token not found');
        if (!row.revoked_now) return;
        await call.audit(tx, {
          action: 'api_token.revoke',
          objectType: 'api_token',
          objectId: params.tokenId,
        });
      });
      return { status: 204 };
    },
  }),
];
