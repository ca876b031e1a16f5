import { RudderError } from '@rudder/common';
import { isUniqueViolation, type Queryable } from '../db/db.ts';
import { newId } from '../ids.ts';
import type { Role } from './principal.ts';

/** A user as the API shows it; never carries the password hash. */
export interface User {
  id: string;
  email: string;
  name: string;
}

/** A tenant the user belongs to, with the user's role there. */
export interface UserTenant {
  tenantId: string;
  name: string;
  role: Role;
}

/**
 * Creates a user. `email` must already be normalized (trimmed, lower-cased);
 * an email that is taken is a 409.
 */
export async function createUser(
  q: Queryable,
  input: { email: string; name: string; passwordHash: string },
): Promise<User> {
  const id = newId.user();
  try {
    await q.query('INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)', [
      id,
      input.email,
      input.name,
      input.passwordHash,
    ]);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new RudderError('conflict', 'an account with this email already exists', {
        details: { field: 'body.email' },
      });
    throw err;
  }
  return { id, email: input.email, name: input.name };
}

/** The user with `email` and the hash to check a password against, for login only. */
export async function findUserForLogin(
  q: Queryable,
  email: string,
): Promise<(User & { passwordHash: string }) | undefined> {
  const r = await q.query<{ id: string; email: string; name: string; password_hash: string }>(
    'SELECT id, email, name, password_hash FROM users WHERE email = $1',
    [email],
  );
  const row = r.rows[0];
  return row && { id: row.id, email: row.email, name: row.name, passwordHash: row.password_hash };
}

export async function getUser(q: Queryable, id: string): Promise<User | undefined> {
  const r = await q.query<User>('SELECT id, email, name FROM users WHERE id = $1', [id]);
  return r.rows[0];
}

/** The tenants `userId` is a member of, by name. */
export async function listUserTenants(q: Queryable, userId: string): Promise<UserTenant[]> {
  const r = await q.query<UserTenant>(
    `SELECT m.tenant_id AS "tenantId", t.name, m.role
     FROM memberships m JOIN tenants t ON t.id = m.tenant_id
     WHERE m.user_id = $1
     ORDER BY t.name, t.id`,
    [userId],
  );
  return r.rows;
}
