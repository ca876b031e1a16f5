import { z } from 'zod';
import { RudderError } from '@rudder/common';
import type { Queryable } from '../db/db.ts';
import { defineRoute, type RouteSpec } from '../http/route.ts';
import { roleAtLeast, roleSchema, type Role } from '../auth/principal.ts';
import { tenantCall, type TenantCall } from './tenant-call.ts';

const tenantParams = z.object({ tenantId: z.string().min(1).max(64) });
const memberParams = tenantParams.extend({ userId: z.string().min(1).max(128) });

const memberSchema = z.object({
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  joinedAt: z.iso.datetime(),
});
type Member = z.infer<typeof memberSchema>;

interface MemberRow {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: Date;
}

const SELECT_MEMBERS = `SELECT m.user_id, u.email, u.name, m.role, m.created_at
  FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1`;

function toMember(row: MemberRow): Member {
  return {
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    joinedAt: row.created_at.toISOString(),
  };
}

async function getMember(q: Queryable, tenantId: string, userId: string): Promise<Member> {
  const r = await q.query<MemberRow>(`${SELECT_MEMBERS} AND m.user_id = $2`, [tenantId, userId]);
  const row = r.rows[0];
  if (!row) throw new RudderError('not_found', 'member not found');
  return toMember(row);
}

/**
 * The owner rules, in one place: only an owner may grant or take away the
 * owner role, and a tenant always keeps at least one owner. `from` is undefined
 * for a new member, `to` for a removal; `owners` (the tenant's owner count) is
 * read only when `from` is owner. Returns the refusal, or undefined when the
 * change may go on.
 */
function ownerRuleRefusal(change: {
  callerRole: Role;
  from: Role | undefined;
  to: Role | undefined;
  owners: number;
}): RudderError | undefined {
  const { callerRole, from, to, owners } = change;
  if ((from === 'owner' || to === 'owner') && from !== to && callerRole !== 'owner')
    return new RudderError('forbidden', 'only an owner may grant or remove the owner role');
  if (from === 'owner' && to !== 'owner' && owners <= 1)
    return new RudderError(
      'conflict',
      to === undefined
        ? 'the last owner cannot be removed; make someone else owner first, or delete the tenant'
        : 'the last owner cannot be demoted; make someone else owner first',
    );
  return undefined;
}

/**
 * Locks the tenant's owners for the rest of the transaction and reads the
 * caller's role again under that lock: the role the route was authorized with
 * may have been taken away since. Every change of roles goes through here
 * first, so two owners demoting each other at once cannot both succeed and
 * leave no owner.
 */
async function lockOwners(
  q: Queryable,
  call: TenantCall,
  needed: Role,
): Promise<{ owners: number; callerRole: Role }> {
  const owners = await q.query(
    `SELECT user_id FROM memberships WHERE tenant_id = $1 AND role = 'owner' ORDER BY user_id FOR UPDATE`,
    [call.tenantId],
  );
  let callerRole = call.role;
  if (call.principal.kind === 'user') {
    const caller = await q.query<{ role: Role }>(
      'SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2',
      [call.tenantId, call.principal.userId],
    );
    const current = caller.rows[0]?.role;
    if (current === undefined) throw new RudderError('not_found', 'tenant not found');
    callerRole = current;
  }
  if (!roleAtLeast(callerRole, needed))
    throw new RudderError('forbidden', `this needs the ${needed} role; you are ${callerRole}`);
  return { owners: owners.rowCount ?? 0, callerRole };
}

/** The target's role, its membership locked until commit; 404 for a non-member. */
async function lockMember(q: Queryable, tenantId: string, userId: string): Promise<Role> {
  const target = await q.query<{ role: Role }>(
    'SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE',
    [tenantId, userId],
  );
  const role = target.rows[0]?.role;
  if (role === undefined) throw new RudderError('not_found', 'member not found');
  return role;
}

/** Removes a member under the owner rules; removing oneself (leaving) needs no admin role. */
async function removeMember(tx: Queryable, call: TenantCall, userId: string): Promise<void> {
  const self = call.principal.kind === 'user' && call.principal.userId === userId;
  const { owners, callerRole } = await lockOwners(tx, call, self ? 'viewer' : 'admin');
  const role = await lockMember(tx, call.tenantId, userId);
  const refusal = ownerRuleRefusal({ callerRole, from: role, to: undefined, owners });
  if (refusal) throw refusal;
  await tx.query('DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2', [call.tenantId, userId]);
  await call.audit(tx, {
    action: self ? 'member.leave' : 'member.remove',
    objectType: 'member',
    objectId: userId,
    changes: { role },
  });
}

/** Users of a tenant and their roles. */
export const routes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/tenants/{tenantId}/members',
    summary: "The tenant's members and their roles",
    tag: 'members',
    auth: 'user',
    role: 'viewer',
    params: tenantParams,
    responses: { 200: { description: 'members', schema: z.object({ members: z.array(memberSchema) }) } },
    handler: async (ctx) => {
      const { tenantId } = tenantCall(ctx);
      const r = await ctx.deps.db.pool.query<MemberRow>(
        `${SELECT_MEMBERS} ORDER BY m.created_at, m.user_id`,
        [tenantId],
      );
      return { body: { members: r.rows.map(toMember) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{tenantId}/members',
    summary: 'Add an existing user, by email, with a role (only an owner may add an owner)',
    tag: 'members',
    auth: 'user',
    role: 'admin',
    params: tenantParams,
    body: z.strictObject({
      email: z.string().trim().toLowerCase().max(254).check(z.email()),
      role: roleSchema,
    }),
    responses: {
      201: { description: 'the new member', schema: memberSchema },
      400: { description: 'no user has this email' },
      403: { description: 'adding an owner needs the owner role' },
      409: { description: 'already a member' },
    },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      const { email, role } = ctx.body;
      const member = await ctx.deps.db.tx(async (tx) => {
        const { owners, callerRole } = await lockOwners(tx, call, 'admin');
        const refusal = ownerRuleRefusal({ callerRole, from: undefined, to: role, owners });
        if (refusal) throw refusal;
        const user = await tx.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]);
        const userId = user.rows[0]?.id;
        if (userId === undefined)
          throw new RudderError('invalid_request', 'body.email: no user with this email', {
            details: {
              field: 'body.email',
              issues: [{ field: 'body.email', message: 'no user with this email' }],
            },
          });
        const inserted = await tx.query(
          `INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [call.tenantId, userId, role],
        );
        if (inserted.rowCount === 0) throw new RudderError('conflict', 'this user is already a member');
        await call.audit(tx, {
          action: 'member.add',
          objectType: 'member',
          objectId: userId,
          changes: { role },
        });
        return getMember(tx, call.tenantId, userId);
      });
      return { status: 201, body: member };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/v1/tenants/{tenantId}/members/{userId}',
    summary: "Change a member's role (only an owner may grant or remove owner; the last owner stays)",
    tag: 'members',
    auth: 'user',
    role: 'admin',
    params: memberParams,
    body: z.strictObject({ role: roleSchema }),
    responses: {
      200: { description: 'the member', schema: memberSchema },
      403: { description: 'granting or removing owner needs the owner role' },
      404: { description: 'not a member of this tenant' },
      409: { description: 'the last owner cannot be demoted' },
    },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      const { userId } = ctx.params;
      const to = ctx.body.role;
      const member = await ctx.deps.db.tx(async (tx) => {
        const { owners, callerRole } = await lockOwners(tx, call, 'admin');
        const from = await lockMember(tx, call.tenantId, userId);
        const refusal = ownerRuleRefusal({ callerRole, from, to, owners });
        if (refusal) throw refusal;
        if (from !== to) {
          await tx.query('UPDATE memberships SET role = $3 WHERE tenant_id = $1 AND user_id = $2', [
            call.tenantId,
            userId,
            to,
          ]);
          await call.audit(tx, {
            action: 'member.update',
            objectType: 'member',
            objectId: userId,
            changes: { role: { from, to } },
          });
        }
        return getMember(tx, call.tenantId, userId);
      });
      return { body: member };
    },
  }),
  // Before `/members/{userId}`, which would otherwise take `me` for a user id.
  defineRoute({
    method: 'delete',
    path: '/v1/tenants/{tenantId}/members/me',
    summary: 'Leave the tenant (any member; the last owner cannot leave)',
    tag: 'members',
    auth: 'user',
    role: 'viewer',
    params: tenantParams,
    responses: {
      204: { description: 'left' },
      403: { description: 'an API token is not a member' },
      409: { description: 'the last owner cannot leave' },
    },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      if (call.principal.kind !== 'user')
        throw new RudderError('forbidden', 'an API token is not a member; revoke it instead');
      const userId = call.principal.userId;
      await ctx.deps.db.tx((tx) => removeMember(tx, call, userId));
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/tenants/{tenantId}/members/{userId}',
    summary: 'Remove a member (only an owner may remove an owner; the last owner stays)',
    tag: 'members',
    auth: 'user',
    role: 'admin',
    params: memberParams,
    responses: {
      204: { description: 'removed' },
      403: { description: 'removing an owner needs the owner role' },
      404: { description: 'not a member of this tenant' },
      409: { description: 'the last owner cannot be removed' },
    },
    handler: async (ctx) => {
      const call = tenantCall(ctx);
      await ctx.deps.db.tx((tx) => removeMember(tx, call, ctx.params.userId));
      return { status: 204 };
    },
  }),
];
