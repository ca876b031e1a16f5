import { z } from 'zod';

/** Roles within a tenant, weakest first. */
export const ROLES = ['viewer', 'member', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

/**
 * What each role may do:
 * - viewer reads everything of the tenant;
 * - member also changes workspaces' objects (sources, destinations, ...), runs replays;
 * - admin also manages users, API tokens and data-plane tokens;
 * - owner also manages owners and deletes the tenant.
 */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Who is calling. */
export type Principal =
  | { kind: 'user'; userId: string; email: string }
  | { kind: 'api-token'; tokenId: string; tenantId: string; role: Role }
  | { kind: 'dataplane'; tokenId: string; tenantId: string };

/** The caller's standing in the tenant a route names. */
export interface TenantAccess {
  tenantId: string;
  role: Role;
}

/** The audit log's `actor_type` / `actor_id` for a principal. */
export function actorOf(p: Principal): { type: string; id: string } {
  switch (p.kind) {
    case 'user':
      return { type: 'user', id: p.userId };
    case 'api-token':
      return { type: 'api-token', id: p.tokenId };
    case 'dataplane':
      return { type: 'dataplane', id: p.tokenId };
  }
}
