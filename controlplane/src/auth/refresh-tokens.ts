import type { Queryable } from '../db/db.ts';
import { newId } from '../ids.ts';
import { hashToken, newOpaqueToken } from './tokens.ts';

/** A refresh token just issued; `token` is the only copy of the secret. */
export interface IssuedRefreshToken {
  id: string;
  familyId: string;
  token: string;
  expiresAt: Date;
}

/**
 * What presenting a refresh token led to:
 * - `rotated`: it was live; it is now spent and `issued` replaces it;
 * - `reused`: it was already rotated or revoked, so it was stolen or replayed,
 *   and its whole family (the live token included) is now revoked;
 * - `invalid`: unknown or expired.
 */
export type RotateOutcome =
  | { outcome: 'rotated'; userId: string; issued: IssuedRefreshToken }
  | { outcome: 'reused'; userId: string; familyId: string }
  | { outcome: 'invalid' };

/**
 * Issues a refresh token valid for `ttlSeconds`. Without `familyId` it starts a
 * new family (a login), named by its first token's id.
 */
export async function issueRefreshToken(
  q: Queryable,
  input: { userId: string; ttlSeconds: number; familyId?: string },
): Promise<IssuedRefreshToken> {
  const id = newId.refreshToken();
  const familyId = input.familyId ?? id;
  const { token, hash } = newOpaqueToken('refresh');
  const r = await q.query<{ expires_at: Date }>(
    `INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
     RETURNING expires_at`,
    [id, input.userId, familyId, hash, input.ttlSeconds],
  );
  return { id, familyId, token, expiresAt: r.rows[0]!.expires_at };
}

/**
 * Spends a refresh token and issues its successor in the same family, with a
 * fresh `ttlSeconds` (so a session lasts while it is used). Run it in a
 * transaction that is committed whatever the outcome: a `reused` outcome has
 * revoked the family, and that must stick even though the caller answers 401.
 *
 * Two concurrent refreshes with one token: the second waits on the first's row
 * lock, then sees the token rotated and revokes the family. A client must not
 * refresh in parallel; a thief cannot tell which copy wins, so both lose.
 */
export async function rotateRefreshToken(
  q: Queryable,
  token: string,
  ttlSeconds: number,
): Promise<RotateOutcome> {
  const hash = hashToken(token);
  const spent = await q.query<{ user_id: string; family_id: string }>(
    `UPDATE refresh_tokens SET rotated_at = now()
     WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > now()
     RETURNING user_id, family_id`,
    [hash],
  );
  const row = spent.rows[0];
  if (row) {
    const issued = await issueRefreshToken(q, { userId: row.user_id, ttlSeconds, familyId: row.family_id });
    return { outcome: 'rotated', userId: row.user_id, issued };
  }
  const found = await q.query<{ user_id: string; family_id: string; spent: boolean }>(
    `SELECT user_id, family_id, (rotated_at IS NOT NULL OR revoked_at IS NOT NULL) AS spent
     FROM refresh_tokens WHERE token_hash = $1`,
    [hash],
  );
  const prior = found.rows[0];
  if (!prior?.spent) return { outcome: 'invalid' };
  await revokeFamily(q, prior.family_id);
  return { outcome: 'reused', userId: prior.user_id, familyId: prior.family_id };
}

/** Revokes every token of a family; returns how many were still unrevoked. */
export async function revokeFamily(q: Queryable, familyId: string): Promise<number> {
  const r = await q.query(
    'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
    [familyId],
  );
  return r.rowCount ?? 0;
}

/** Revokes the family `token` belongs to (logout). Unknown tokens revoke nothing. */
export async function revokeFamilyOfToken(q: Queryable, token: string): Promise<number> {
  const r = await q.query(
    `UPDATE refresh_tokens SET revoked_at = now()
     WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL`,
    [hashToken(token)],
  );
  return r.rowCount ?? 0;
}

/** Revokes every refresh token of a user (logout everywhere). */
export async function revokeAllOfUser(q: Queryable, userId: string): Promise<number> {
  const r = await q.query(
    'UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL',
    [userId],
  );
  return r.rowCount ?? 0;
}
