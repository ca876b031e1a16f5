import type { Request } from 'express';
import { RudderError } from '@rudder/common';
import type { AuthKind } from './route.ts';
import type { AppDeps } from './deps.ts';
import { roleAtLeast, type Principal, type Role, type TenantAccess } from '../auth/principal.ts';
import { hashToken, opaqueKindOf } from '../auth/tokens.ts';

/** The bearer token of a request, or a 401. */
function bearerOf(req: Request): string {
  const header = req.headers.authorization;
  const m = header === undefined ? null : /^Bearer ([^\s]+)$/i.exec(header);
  if (!m) throw new RudderError('unauthorized', 'missing bearer token');
  return m[1]!;
}

/**
 * Resolves who is calling. User routes take an access token (JWT) or an API
 * token; data-plane routes take only a data-plane token. Expired, revoked,
 * tampered and unknown tokens all get the same 401.
 */
export async function authenticate(
  req: Request,
  deps: AppDeps,
  kind: AuthKind,
): Promise<Principal | undefined> {
  if (kind === 'none') return undefined;
  const token = bearerOf(req);
  const opaque = opaqueKindOf(token);
  if (kind === 'dataplane') {
    if (opaque !== 'dataplane') throw new RudderError('unauthorized', 'a data-plane token is required');
    const found = await deps.db.pool.query<{ id: string; tenant_id: string; stale: boolean }>(
      `SELECT id, tenant_id, ${STALE} AS stale FROM dataplane_tokens WHERE token_hash = $1 AND revoked_at IS NULL`,
      [hashToken(token)],
    );
    const row = found.rows[0];
    if (!row) throw new RudderError('unauthorized', 'invalid data-plane token');
    if (row.stale) touch(deps, 'dataplane_tokens', row.id);
    return { kind: 'dataplane', tokenId: row.id, tenantId: row.tenant_id };
  }
  if (opaque === 'api') {
    const found = await deps.db.pool.query<{ id: string; tenant_id: string; role: Role; stale: boolean }>(
      `SELECT id, tenant_id, role, ${STALE} AS stale FROM api_tokens
       WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [hashToken(token)],
    );
    const row = found.rows[0];
    if (!row) throw new RudderError('unauthorized', 'invalid API token');
    if (row.stale) touch(deps, 'api_tokens', row.id);
    return { kind: 'api-token', tokenId: row.id, tenantId: row.tenant_id, role: row.role };
  }
  if (opaque !== undefined) throw new RudderError('unauthorized', 'this token cannot call the API');
  const claims = deps.accessTokens.verify(token);
  return { kind: 'user', userId: claims.sub, email: claims.email };
}

/** `last_used_at` is kept to the minute: a write per request would put a row lock on every authenticated call. */
const STALE = `(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`;

/** Stamps a token's last use without holding up the request; a lost stamp is retried by the next call. */
function touch(deps: AppDeps, table: 'api_tokens' | 'dataplane_tokens', id: string): void {
  deps.db.pool
    .query(`UPDATE ${table} SET last_used_at = now() WHERE id = $1 AND ${STALE}`, [id])
    .catch((err: unknown) => deps.logger.warn({ error: String(err), table }, 'could not stamp token use'));
}

/**
 * The caller's role in `tenantId`. Callers who are not members get a 404, as
 * if the tenant did not exist, so tenant ids cannot be probed; members whose
 * role is too weak get a 403.
 */
export async function authorizeTenant(
  deps: AppDeps,
  principal: Principal | undefined,
  tenantId: string,
  needed: Role,
): Promise<TenantAccess> {
  let role: Role | undefined;
  if (principal?.kind === 'user') {
    const found = await deps.db.pool.query<{ role: Role }>(
      'SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2',
      [tenantId, principal.userId],
    );
    role = found.rows[0]?.role;
  } else if (principal?.kind === 'api-token' && principal.tenantId === tenantId) {
    role = principal.role;
  }
  if (role === undefined) throw new RudderError('not_found', 'tenant not found');
  if (!roleAtLeast(role, needed))
    throw new RudderError('forbidden', `this needs the ${needed} role; you are ${role}`);
  return { tenantId, role };
}
