import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { RudderError } from '@rudder/common';
import type { Queryable } from '../db/db.ts';
import type { RouteContext } from '../http/route.ts';
import { tenantCall, type TenantCall } from '../tenants/tenant-call.ts';

/**
 * Where a workspace object lives. Every query of sources, destinations,
 * connections and transformations filters on both, so an id of another
 * tenant or another workspace is simply not found.
 */
export interface WorkspaceScope {
  tenantId: string;
  workspaceId: string;
}

/** A path segment naming an object; its format is not checked, an unknown id is a 404. */
export const idParam = z.string().min(1).max(128);

/** Path parameters of every route under `/v1/tenants/{tenantId}/workspaces/{workspaceId}`. */
export const workspaceParams = z.object({ tenantId: idParam, workspaceId: idParam });

/** The path prefix of workspace objects' routes. */
export const WORKSPACE_PATH = '/v1/tenants/{tenantId}/workspaces/{workspaceId}';

/** One call of a workspace route: its tenant call plus the workspace it works in. */
export interface WorkspaceCall extends TenantCall {
  scope: WorkspaceScope;
}

/**
 * The call of a route that sets a `role`: the tenant comes from the caller's
 * verified access, never from the path alone.
 */
export function workspaceCall(
  ctx: Pick<
    RouteContext<{ workspaceId: string }, unknown, unknown>,
    'params' | 'access' | 'principal' | 'res'
  >,
): WorkspaceCall {
  const call = tenantCall(ctx);
  return { ...call, scope: { tenantId: call.tenantId, workspaceId: ctx.params.workspaceId } };
}

/**
 * Fails with 404 unless the workspace belongs to the tenant. With `lock`
 * (inside a transaction) it holds the workspace until commit, so a
 * concurrent workspace delete cannot slip between this check and an insert.
 */
export async function requireWorkspace(
  q: Queryable,
  scope: WorkspaceScope,
  options: { lock?: boolean } = {},
): Promise<void> {
  const found = await q.query(
    `SELECT 1 FROM workspaces WHERE tenant_id = $1 AND id = $2${options.lock ? ' FOR KEY SHARE' : ''}`,
    [scope.tenantId, scope.workspaceId],
  );
  if (found.rowCount === 0) throw new RudderError('not_found', 'workspace not found');
}

/** `{ field: { from, to } }` for each of `keys` whose value differs (deeply, so JSON key order does not count). */
export function changedFields<T extends object>(
  before: T,
  after: T,
  keys: readonly (keyof T & string)[],
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of keys) {
    if (!isDeepStrictEqual(before[key], after[key])) changes[key] = { from: before[key], to: after[key] };
  }
  return changes;
}
