import type { Queryable } from '../../src/db/db.ts';
import { newId, newWriteKey } from '../../src/ids.ts';
import { newOpaqueToken } from '../../src/auth/tokens.ts';
import type { Role } from '../../src/auth/principal.ts';
import type { TestControlPlane, TestUser } from './harness.ts';

/** Every kind of object a route's path or body can name by id. */
export type IdKind =
  | 'tenant'
  | 'workspace'
  | 'source'
  | 'destination'
  | 'connection'
  | 'transformation'
  | 'apiToken'
  | 'dataplaneToken'
  | 'user'
  | 'job'
  | 'replay';

/** A tenant with one object of every kind, and the credentials that reach it. */
export interface SeededTenant {
  owner: TestUser;
  /** A user with the `member` role (the `user` id of this tenant). */
  member: TestUser;
  ids: Record<IdKind, string>;
  writeKey: string;
  /** Plaintext API token with `apiTokenRole`. */
  apiToken: string;
  dataplaneToken: string;
}

/**
 * Creates a tenant owned by a new user and, by direct SQL (so it does not
 * depend on the routes under test), one workspace object of every kind, an
 * API token, a data-plane token, a member, an instance, an onboarding job and
 * a replay.
 */
export async function seedTenant(
  t: TestControlPlane,
  options: { apiTokenRole?: Exclude<Role, 'owner'> } = {},
): Promise<SeededTenant> {
  const owner = await t.createUser();
  const member = await t.createUser();
  const { tenantId, workspaceId } = await t.createTenant(owner);
  await t.addMember(tenantId, member, 'member');
  const ids: Record<IdKind, string> = {
    tenant: tenantId,
    workspace: workspaceId,
    source: newId.source(),
    destination: newId.destination(),
    connection: newId.connection(),
    transformation: newId.transformation(),
    apiToken: newId.apiToken(),
    dataplaneToken: newId.dataplaneToken(),
    user: member.userId,
    job: newId.job(),
    replay: newId.replay(),
  };
  const writeKey = newWriteKey();
  const api = newOpaqueToken('api');
  const dataplane = newOpaqueToken('dataplane');
  await t.cp.deps.db.tx(async (q) => {
    const ws = [tenantId, workspaceId];
    await q.query(
      'INSERT INTO sources (tenant_id, workspace_id, id, name, write_key) VALUES ($1, $2, $3, $4, $5)',
      [...ws, ids.source, 'Seeded source', writeKey],
    );
    await q.query('INSERT INTO transformations (tenant_id, workspace_id, id, name) VALUES ($1, $2, $3, $4)', [
      ...ws,
      ids.transformation,
      'Seeded transformation',
    ]);
    await q.query(
      'INSERT INTO transformation_versions (tenant_id, transformation_id, version, code) VALUES ($1, $2, 1, $3)',
      [tenantId, ids.transformation, 'function transformEvent(event, metadata) { return event; }'],
    );
    await q.query(
      `INSERT INTO destinations (tenant_id, workspace_id, id, name, type, config)
       VALUES ($1, $2, $3, $4, 'webhook', $5)`,
      [...ws, ids.destination, 'Seeded webhook', JSON.stringify({ url: 'http://127.0.0.1:9/x' })],
    );
    await q.query(
      `INSERT INTO connections (tenant_id, workspace_id, id, source_id, destination_id, transformation_id)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [...ws, ids.connection, ids.source, ids.destination, ids.transformation],
    );
    await q.query(
      `INSERT INTO api_tokens (id, tenant_id, name, role, token_hash, created_by)
       VALUES ($1, $2, 'seeded', $3, $4, $5)`,
      [ids.apiToken, tenantId, options.apiTokenRole ?? 'admin', api.hash, owner.userId],
    );
    await q.query(
      `INSERT INTO dataplane_tokens (id, tenant_id, name, token_hash) VALUES ($1, $2, 'seeded', $3)`,
      [ids.dataplaneToken, tenantId, dataplane.hash],
    );
    await q.query(
      `INSERT INTO jobs (id, kind, tenant_id, requested_by, state) VALUES ($1, 'onboarding', $2, $3, 'completed')`,
      [ids.job, tenantId, owner.userId],
    );
    await q.query(`INSERT INTO instances (tenant_id, name, status) VALUES ($1, $1, 'ready')`, [tenantId]);
    await q.query(
      `INSERT INTO replays (tenant_id, id, job_id, source_id, destination_id, from_ts, to_ts)
       VALUES ($1, $2, $3, $4, $5, now() - interval '1 hour', now())`,
      [tenantId, ids.replay, ids.job, ids.source, ids.destination],
    );
  });
  return { owner, member, ids, writeKey, apiToken: api.token, dataplaneToken: dataplane.token };
}

/** An API token of `tenantId` with `role`, inserted directly; returns its plaintext. */
export async function insertApiToken(
  q: Queryable,
  tenantId: string,
  role: Exclude<Role, 'owner'>,
): Promise<string> {
  const { token, hash } = newOpaqueToken('api');
  await q.query(
    `INSERT INTO api_tokens (id, tenant_id, name, role, token_hash) VALUES ($1, $2, $3, $4, $5)`,
    [newId.apiToken(), tenantId, `${role} token`, role, hash],
  );
  return token;
}

/**
 * Every row of a tenant: its `tenants` row, its members' `users` rows and the
 * rows of every table with a `tenant_id` column (found from the catalog, so
 * tables added later are included), each table's rows sorted. `ignore` names
 * columns that legitimately move (`last_used_at` of a token in use).
 */
export async function snapshotTenant(
  q: Queryable,
  tenantId: string,
  options: { ignore?: readonly string[] } = {},
): Promise<Record<string, string[]>> {
  const ignore = new Set(options.ignore ?? []);
  const tables = await q.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY table_name`,
  );
  const queries: [string, string][] = [
    ['tenants', 'SELECT * FROM tenants WHERE id = $1'],
    ['users', 'SELECT u.* FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.tenant_id = $1'],
    ...tables.rows.map(({ table_name: name }): [string, string] => [
      name,
      `SELECT * FROM "${name}" WHERE tenant_id = $1`,
    ]),
  ];
  const snapshot: Record<string, string[]> = {};
  for (const [name, sql] of queries) {
    const r = await q.query<Record<string, unknown>>(sql, [tenantId]);
    snapshot[name] = r.rows
      .map((row) => JSON.stringify(Object.entries(row).filter(([column]) => !ignore.has(column))))
      .sort();
  }
  return snapshot;
}
