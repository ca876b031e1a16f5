import { waitFor } from '@rudder/devkit';
import type { Role } from '../src/auth/principal.ts';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';
import { insertApiToken, seedTenant, snapshotTenant } from './support/tenant-fixtures.ts';

describe('tenants, members, workspaces and the audit log', () => {
  let t: TestControlPlane;
  beforeAll(async () => {
    t = await startTestControlPlane({ LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await t.stop();
  });

  /** A tenant owned by a new user, with one more user in each of `roles`. */
  async function tenantWith(
    ...roles: Role[]
  ): Promise<{ tenantId: string; workspaceId: string; owner: TestUser; users: TestUser[] }> {
    const owner = await t.createUser();
    const { tenantId, workspaceId } = await t.createTenant(owner);
    const users: TestUser[] = [];
    for (const role of roles) {
      const user = await t.createUser();
      await t.addMember(tenantId, user, role);
      users.push(user);
    }
    return { tenantId, workspaceId, owner, users };
  }

  /** The newest audit entry of a tenant, read through the API as its owner. */
  async function lastAudit(tenantId: string, owner: TestUser): Promise<any> {
    const res = await t.call('get', `/v1/tenants/${tenantId}/audit-log?limit=1`, { token: owner.token });
    expect(res.status).toBe(200);
    return res.body.entries[0];
  }

  async function rolesOf(tenantId: string): Promise<Record<string, Role>> {
    const r = await t.cp.deps.db.pool.query<{ user_id: string; role: Role }>(
      'SELECT user_id, role FROM memberships WHERE tenant_id = $1',
      [tenantId],
    );
    return Object.fromEntries(r.rows.map((row) => [row.user_id, row.role]));
  }

  describe('tenants', () => {
    test('lists the tenants a user belongs to with the role in each; an API token sees only its own', async () => {
      const user = await t.createUser();
      const mine = await t.createTenant(user);
      const other = await t.createUser();
      const shared = await t.createTenant(other);
      const foreign = await t.createTenant(other);
      await t.addMember(shared.tenantId, user, 'viewer');

      const res = await t.call('get', '/v1/tenants', { token: user.token });
      expect(res.status).toBe(200);
      expect(res.body.tenants.map((x: any) => [x.id, x.role])).toEqual([
        [mine.tenantId, 'owner'],
        [shared.tenantId, 'viewer'],
      ]);
      expect(JSON.stringify(res.body)).not.toContain(foreign.tenantId);

      const token = await insertApiToken(t.cp.deps.db.pool, shared.tenantId, 'member');
      const byToken = await t.call('get', '/v1/tenants', { token });
      expect(byToken.body.tenants).toEqual([
        expect.objectContaining({ id: shared.tenantId, role: 'member' }),
      ]);
    });

    test('reads a tenant with its config version, and its instance once onboarding recorded one', async () => {
      const { tenantId, users } = await tenantWith('viewer');
      const res = await t.call('get', `/v1/tenants/${tenantId}`, { token: users[0]!.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: tenantId,
        name: `Tenant ${tenantId}`,
        configVersion: expect.any(Number),
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });

      await t.cp.deps.db.pool.query(
        `INSERT INTO instances (tenant_id, name, status, message) VALUES ($1, $1, 'ready', 'all replicas ready')`,
        [tenantId],
      );
      const withInstance = await t.call('get', `/v1/tenants/${tenantId}`, { token: users[0]!.token });
      expect(withInstance.body.instance).toEqual({
        tenantId,
        dataplaneTokenId: null,
        name: tenantId,
        status: 'ready',
        message: 'all replicas ready',
        updatedAt: expect.any(String),
      });
    });

    test('renames a tenant (admins and above) and audits who did it, when and from what', async () => {
      const { tenantId, owner, users } = await tenantWith('admin', 'member');
      const [admin, member] = users as [TestUser, TestUser];
      const startedAt = Date.now();

      const res = await t.call('patch', `/v1/tenants/${tenantId}`, {
        token: admin.token,
        body: { name: '  Acme  ' },
      });
      expect(res.status).toBe(200);
      expect(res.body.name).toBe('Acme');

      const entry = await lastAudit(tenantId, owner);
      expect(entry).toEqual({
        id: expect.any(Number),
        at: expect.any(String),
        actor: { type: 'user', id: admin.userId, email: admin.email },
        action: 'tenant.update',
        object: { type: 'tenant', id: tenantId },
        changes: { name: { from: `Tenant ${tenantId}`, to: 'Acme' } },
        requestId: expect.any(String),
      });
      expect(Date.parse(entry.at)).toBeGreaterThanOrEqual(startedAt - 1000);

      const empty = await t.call('patch', `/v1/tenants/${tenantId}`, {
        token: admin.token,
        body: { name: ' ' },
      });
      expect(empty.status).toBe(400);
      expect(empty.body.error.details.field).toBe('body.name');
      const unknown = await t.call('patch', `/v1/tenants/${tenantId}`, {
        token: admin.token,
        body: { name: 'x', plan: 'free' },
      });
      expect(unknown.status).toBe(400);
      expect(
        (await t.call('patch', `/v1/tenants/${tenantId}`, { token: member.token, body: { name: 'x' } }))
          .status,
      ).toBe(403);
    });

    test('deletes a tenant with everything in it, and only an owner may', async () => {
      const seeded = await seedTenant(t);
      const tenantId = seeded.ids.tenant;
      const admin = await t.createUser();
      await t.addMember(tenantId, admin, 'admin');

      expect((await t.call('delete', `/v1/tenants/${tenantId}`, { token: admin.token })).status).toBe(403);
      const res = await t.call('delete', `/v1/tenants/${tenantId}`, { token: seeded.owner.token });
      expect(res.status).toBe(204);

      const left = await snapshotTenant(t.cp.deps.db.pool, tenantId);
      expect(Object.entries(left).filter(([, rows]) => rows.length > 0)).toEqual([]);
      expect((await t.call('get', `/v1/tenants/${tenantId}`, { token: seeded.owner.token })).status).toBe(
        404,
      );
      expect((await t.call('get', '/v1/tenants', { token: seeded.owner.token })).body.tenants).toEqual([]);
      expect((await t.call('get', '/v1/tenants', { token: seeded.apiToken })).status).toBe(401);
    });
  });

  describe('members', () => {
    test('lists members with their roles to any member', async () => {
      const { tenantId, owner, users } = await tenantWith('viewer');
      const res = await t.call('get', `/v1/tenants/${tenantId}/members`, { token: users[0]!.token });
      expect(res.status).toBe(200);
      expect(res.body.members).toEqual([
        { userId: owner.userId, email: owner.email, name: '', role: 'owner', joinedAt: expect.any(String) },
        {
          userId: users[0]!.userId,
          email: users[0]!.email,
          name: '',
          role: 'viewer',
          joinedAt: expect.any(String),
        },
      ]);
    });

    test('adds an existing user by email once, and names body.email for an unknown one', async () => {
      const { tenantId, owner, users } = await tenantWith('admin');
      const admin = users[0]!;
      const newcomer = await t.createUser();

      const res = await t.call('post', `/v1/tenants/${tenantId}/members`, {
        token: admin.token,
        body: { email: newcomer.email.toUpperCase(), role: 'member' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual(expect.objectContaining({ userId: newcomer.userId, role: 'member' }));
      expect(await lastAudit(tenantId, owner)).toEqual(
        expect.objectContaining({
          actor: expect.objectContaining({ id: admin.userId }),
          action: 'member.add',
          object: { type: 'member', id: newcomer.userId },
          changes: { role: 'member' },
        }),
      );

      const again = await t.call('post', `/v1/tenants/${tenantId}/members`, {
        token: admin.token,
        body: { email: newcomer.email, role: 'viewer' },
      });
      expect(again.status).toBe(409);
      const unknown = await t.call('post', `/v1/tenants/${tenantId}/members`, {
        token: admin.token,
        body: { email: 'nobody@example.test', role: 'viewer' },
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.details.field).toBe('body.email');
      expect(unknown.body.error.message).toContain('no user with this email');
      expect((await rolesOf(tenantId))[newcomer.userId]).toBe('member');
    });

    test('only an owner may add an owner', async () => {
      const { tenantId, owner, users } = await tenantWith('admin');
      const candidate = await t.createUser();
      const body = { email: candidate.email, role: 'owner' };
      expect(
        (await t.call('post', `/v1/tenants/${tenantId}/members`, { token: users[0]!.token, body })).status,
      ).toBe(403);
      expect(
        (await t.call('post', `/v1/tenants/${tenantId}/members`, { token: owner.token, body })).status,
      ).toBe(201);
    });

    test('changes roles: admins manage non-owners, only owners touch owner, the last owner stays', async () => {
      const { tenantId, owner, users } = await tenantWith('admin', 'member');
      const [admin, member] = users as [TestUser, TestUser];
      const patch = (who: TestUser, target: TestUser, role: Role) =>
        t.call('patch', `/v1/tenants/${tenantId}/members/${target.userId}`, {
          token: who.token,
          body: { role },
        });

      const promoted = await patch(admin, member, 'admin');
      expect(promoted.status).toBe(200);
      expect(promoted.body.role).toBe('admin');
      expect(await lastAudit(tenantId, owner)).toEqual(
        expect.objectContaining({
          action: 'member.update',
          changes: { role: { from: 'member', to: 'admin' } },
        }),
      );

      expect((await patch(admin, member, 'owner')).status).toBe(403);
      expect((await patch(admin, owner, 'admin')).status).toBe(403);
      expect((await patch(owner, owner, 'admin')).status).toBe(409);

      expect((await patch(owner, admin, 'owner')).status).toBe(200);
      expect((await patch(admin, owner, 'viewer')).status).toBe(200);
      expect((await patch(admin, admin, 'member')).status).toBe(409);
      expect(await rolesOf(tenantId)).toEqual({
        [owner.userId]: 'viewer',
        [admin.userId]: 'owner',
        [member.userId]: 'admin',
      });

      const stranger = await t.createUser();
      expect((await patch(admin, stranger, 'viewer')).status).toBe(404);
    });

    test('keeps one owner when two owners demote each other at the same time', async () => {
      const { tenantId, owner, users } = await tenantWith('owner');
      const other = users[0]!;
      const pool = t.cp.deps.db.pool;
      // Holding the memberships makes both requests reach the database before either decides.
      const blocker = await pool.connect();
      let results;
      try {
        await blocker.query('BEGIN');
        await blocker.query('SELECT 1 FROM memberships WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
        const demotions = Promise.all([
          t.call('patch', `/v1/tenants/${tenantId}/members/${other.userId}`, {
            token: owner.token,
            body: { role: 'admin' },
          }),
          t.call('patch', `/v1/tenants/${tenantId}/members/${owner.userId}`, {
            token: other.token,
            body: { role: 'admin' },
          }),
        ]);
        await waitFor('both demotions to wait on the held memberships', async () => {
          const r = await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%memberships%'`,
          );
          return r.rows[0]!.n >= 2;
        });
        await blocker.query('COMMIT');
        results = await demotions;
      } finally {
        blocker.release();
      }
      const statuses = results.map((r) => r.status).sort();
      // The second sees either one owner left (409) or that it is no longer an owner itself (403).
      expect(statuses[0]).toBe(200);
      expect([403, 409]).toContain(statuses[1]);
      expect(Object.values(await rolesOf(tenantId)).filter((r) => r === 'owner')).toHaveLength(1);
    });

    test('removes members under the same owner rules; anyone may leave but the last owner', async () => {
      const { tenantId, owner, users } = await tenantWith('admin', 'member', 'viewer', 'owner');
      const [admin, member, viewer, coOwner] = users as [TestUser, TestUser, TestUser, TestUser];
      const remove = (who: TestUser, target: TestUser) =>
        t.call('delete', `/v1/tenants/${tenantId}/members/${target.userId}`, { token: who.token });
      const leave = (who: TestUser | string) =>
        t.call('delete', `/v1/tenants/${tenantId}/members/me`, {
          token: typeof who === 'string' ? who : who.token,
        });

      expect((await remove(admin, member)).status).toBe(204);
      expect(await lastAudit(tenantId, owner)).toEqual(
        expect.objectContaining({
          actor: expect.objectContaining({ id: admin.userId }),
          action: 'member.remove',
          object: { type: 'member', id: member.userId },
          changes: { role: 'member' },
        }),
      );
      expect((await t.call('get', `/v1/tenants/${tenantId}`, { token: member.token })).status).toBe(404);
      expect((await remove(admin, owner)).status).toBe(403);
      expect((await remove(viewer, admin)).status).toBe(403);

      expect((await leave(viewer)).status).toBe(204);
      expect(await lastAudit(tenantId, owner)).toEqual(
        expect.objectContaining({
          actor: expect.objectContaining({ id: viewer.userId }),
          action: 'member.leave',
        }),
      );
      expect((await remove(admin, admin)).status).toBe(204);
      expect((await leave(await insertApiToken(t.cp.deps.db.pool, tenantId, 'admin'))).status).toBe(403);

      expect((await remove(owner, coOwner)).status).toBe(204);
      expect((await remove(owner, owner)).status).toBe(409);
      expect((await leave(owner)).status).toBe(409);
      expect(await rolesOf(tenantId)).toEqual({ [owner.userId]: 'owner' });
      expect((await remove(owner, member)).status).toBe(404);
    });
  });

  describe('workspaces', () => {
    test('creates, lists, reads, renames and deletes workspaces, auditing each change', async () => {
      const { tenantId, workspaceId, owner, users } = await tenantWith('admin', 'viewer');
      const [admin, viewer] = users as [TestUser, TestUser];
      const base = `/v1/tenants/${tenantId}/workspaces`;

      const created = await t.call('post', base, { token: admin.token, body: { name: 'Staging' } });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.stringMatching(/^ws_/),
        name: 'Staging',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const id = created.body.id as string;

      const list = await t.call('get', base, { token: viewer.token });
      expect(list.body.workspaces.map((w: any) => w.id)).toEqual([workspaceId, id]);
      expect((await t.call('get', `${base}/${id}`, { token: viewer.token })).body.name).toBe('Staging');

      const renamed = await t.call('patch', `${base}/${id}`, { token: admin.token, body: { name: 'Stage' } });
      expect(renamed.status).toBe(200);
      expect(renamed.body.name).toBe('Stage');
      expect((await t.call('delete', `${base}/${id}`, { token: admin.token })).status).toBe(204);
      expect((await t.call('get', `${base}/${id}`, { token: viewer.token })).status).toBe(404);
      expect((await t.call('delete', `${base}/${id}`, { token: admin.token })).status).toBe(404);

      const log = await t.call('get', `/v1/tenants/${tenantId}/audit-log`, { token: owner.token });
      expect(log.body.entries.map((e: any) => [e.action, e.object.id, e.changes])).toEqual([
        ['workspace.delete', id, { name: 'Stage' }],
        ['workspace.update', id, { name: { from: 'Staging', to: 'Stage' } }],
        ['workspace.create', id, { name: 'Staging' }],
      ]);
      expect((await t.call('post', base, { token: viewer.token, body: { name: 'x' } })).status).toBe(403);
      const bad = await t.call('post', base, { token: admin.token, body: { name: '' } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.field).toBe('body.name');
    });

    test('deleting a workspace deletes its sources, destinations, connections and transformations', async () => {
      const seeded = await seedTenant(t);
      const { tenant, workspace } = seeded.ids;
      const before = await t.cp.deps.db.pool.query<{ config_version: number }>(
        'SELECT config_version FROM tenants WHERE id = $1',
        [tenant],
      );
      const res = await t.call('delete', `/v1/tenants/${tenant}/workspaces/${workspace}`, {
        token: seeded.owner.token,
      });
      expect(res.status).toBe(204);
      const left = await snapshotTenant(t.cp.deps.db.pool, tenant);
      for (const table of ['workspaces', 'sources', 'destinations', 'connections', 'transformations'])
        expect({ table, rows: left[table] }).toEqual({ table, rows: [] });
      const after = await t.cp.deps.db.pool.query<{ config_version: number }>(
        'SELECT config_version FROM tenants WHERE id = $1',
        [tenant],
      );
      expect(after.rows[0]!.config_version).toBeGreaterThan(before.rows[0]!.config_version);
    });

    test("refuses to delete a workspace whose transformation another workspace's destination uses", async () => {
      const seeded = await seedTenant(t);
      const { tenant, workspace, transformation } = seeded.ids;
      const other = await t.call('post', `/v1/tenants/${tenant}/workspaces`, {
        token: seeded.owner.token,
        body: { name: 'Other' },
      });
      await t.cp.deps.db.pool.query(
        `INSERT INTO destinations (tenant_id, workspace_id, id, name, type, transformation_id)
         VALUES ($1, $2, 'dst_borrower', 'Borrower', 'webhook', $3)`,
        [tenant, other.body.id, transformation],
      );
      const before = await snapshotTenant(t.cp.deps.db.pool, tenant);
      const res = await t.call('delete', `/v1/tenants/${tenant}/workspaces/${workspace}`, {
        token: seeded.owner.token,
      });
      expect(res.status).toBe(409);
      expect(await snapshotTenant(t.cp.deps.db.pool, tenant)).toEqual(before);
    });
  });

  describe('audit log', () => {
    test('pages through entries newest first with a cursor', async () => {
      const { tenantId, owner } = await tenantWith();
      const names = ['one', 'two', 'three', 'four', 'five'];
      for (const name of names)
        await t.call('post', `/v1/tenants/${tenantId}/workspaces`, { token: owner.token, body: { name } });

      const seen: any[] = [];
      let before: number | null = null;
      let pages = 0;
      do {
        const query: string = before === null ? '?limit=2' : `?limit=2&before=${before}`;
        const res = await t.call('get', `/v1/tenants/${tenantId}/audit-log${query}`, { token: owner.token });
        expect(res.status).toBe(200);
        seen.push(...res.body.entries);
        before = res.body.nextBefore;
        pages++;
      } while (before !== null && pages < 10);

      expect(pages).toBe(3);
      expect(seen.map((e) => e.changes.name)).toEqual([...names].reverse());
      expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((x, y) => y - x));

      const bad = await t.call('get', `/v1/tenants/${tenantId}/audit-log?limit=1000`, { token: owner.token });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.field).toBe('query.limit');
    });
  });
});
