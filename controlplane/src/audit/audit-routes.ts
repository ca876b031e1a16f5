import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { tenantCall } from '../tenants/tenant-call.ts';

const entrySchema = z.object({
  id: z.number().int().describe('increases with time; pass the last one seen as `before` for the next page'),
  at: z.iso.datetime(),
  actor: z.object({
    type: z.string().describe('user, api-token or dataplane'),
    id: z.string(),
    email: z.string().optional().describe("a user's email, while the user exists"),
  }),
  action: z.string().describe('<object>.<verb>: workspace.create, member.update, ...'),
  object: z.object({ type: z.string(), id: z.string() }),
  changes: z.record(z.string(), z.unknown()).nullable(),
  requestId: z.string().nullable(),
});

interface EntryRow {
  id: number;
  at: Date;
  actor_type: string;
  actor_id: string;
  actor_email: string | null;
  action: string;
  object_type: string;
  object_id: string;
  changes: Record<string, unknown> | null;
  request_id: string | null;
}

/** The tenant's audit log. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/audit-log',
    summary: 'Who changed what, newest first, a page at a time',
    tag: 'audit',
    auth: 'user',
    role: 'admin',
    params: z.object({ tenantId: z.string().min(1).max(64) }),
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      before: z.coerce.number().int().min(1).optional().describe('only entries older than this id'),
    }),
    responses: {
      200: {
        description: 'a page of entries',
        schema: z.object({
          entries: z.array(entrySchema),
          nextBefore: z
            .number()
            .int()
            .nullable()
            .describe('`before` of the next page; null on the last page'),
        }),
      },
    },
    handler: async (ctx) => {
      const { tenantId } = tenantCall(ctx);
      const { limit, before } = ctx.query;
      // One more than asked tells whether another page exists without a count.
      const r = await ctx.deps.db.pool.query<EntryRow>(
        `SELECT a.id, a.at, a.actor_type, a.actor_id, u.email AS actor_email, a.action,
                a.object_type, a.object_id, a.changes, a.request_id
         FROM audit_log a LEFT JOIN users u ON a.actor_type = 'user' AND u.id = a.actor_id
         WHERE a.tenant_id = $1 AND ($2::bigint IS NULL OR a.id < $2)
         ORDER BY a.id DESC LIMIT $3`,
        [tenantId, before ?? null, limit + 1],
      );
      const rows = r.rows.slice(0, limit);
      const entries = rows.map((row) => ({
        id: row.id,
        at: row.at.toISOString(),
        actor: {
          type: row.actor_type,
          id: row.actor_id,
          ...(row.actor_email === null ? {} : { email: row.actor_email }),
        },
        action: row.action,
        object: { type: row.object_type, id: row.object_id },
        changes: row.changes,
        requestId: row.request_id,
      }));
      const nextBefore = r.rows.length > limit ? (rows.at(-1)?.id ?? null) : null;
      return { body: { entries, nextBefore } };
    },
  }),
];
