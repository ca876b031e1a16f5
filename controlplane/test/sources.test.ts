import { newId } from '../src/ids.ts';
import { sourceListResponse, sourceResponse } from '../src/sources/source-schemas.ts';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';

describe('sources', () => {
  let t: TestControlPlane;
  let owner: TestUser;
  let member: TestUser;
  let viewer: TestUser;
  let tenantId: string;
  let workspaceId: string;
  let base: string;

  const configVersion = async (tenant = tenantId): Promise<number> =>
    (await t.cp.deps.db.pool.query('SELECT config_version FROM tenants WHERE id = $1', [tenant])).rows[0]
      .config_version;
  const auditOf = async (objectId: string) =>
    (
      await t.cp.deps.db.pool.query(
        'SELECT action, actor_id, changes FROM audit_log WHERE tenant_id = $1 AND object_id = $2 ORDER BY id',
        [tenantId, objectId],
      )
    ).rows;
  const create = async (body: Record<string, unknown> = { name: 'Web' }) => {
    const res = await t.call('post', `${base}/sources`, { token: member.token, body });
    expect(res.status).toBe(201);
    return sourceResponse.parse(res.body);
  };

  beforeAll(async () => {
    t = await startTestControlPlane();
    owner = await t.createUser();
    member = await t.createUser();
    viewer = await t.createUser();
    ({ tenantId, workspaceId } = await t.createTenant(owner));
    await t.addMember(tenantId, member, 'member');
    await t.addMember(tenantId, viewer, 'viewer');
    base = `/v1/tenants/${tenantId}/workspaces/${workspaceId}`;
  });
  afterAll(async () => {
    await t.stop();
  });

  test('creates a source with a server-generated write key, enabled and without deduplication', async () => {
    const before = await configVersion();
    const source = await create({ name: 'Web' });
    expect(source).toMatchObject({ name: 'Web', workspaceId, enabled: true, dedupWindowSeconds: 0 });
    expect(source.id).toMatch(/^src_[a-z0-9]{20}$/);
    expect(source.writeKey).toMatch(/^[a-z0-9]{32}$/);
    expect(await configVersion()).toBeGreaterThan(before);

    const other = await create({ name: 'Server', enabled: false, dedupWindowSeconds: 600 });
    expect(other).toMatchObject({ enabled: false, dedupWindowSeconds: 600 });
    expect(other.writeKey).not.toBe(source.writeKey);
  });

  test('lists and reads the sources of the workspace, as a viewer too', async () => {
    const source = await create({ name: 'Listed' });
    const list = await t.call('get', `${base}/sources`, { token: viewer.token });
    expect(list.status).toBe(200);
    expect(sourceListResponse.parse(list.body).sources.map((s) => s.id)).toContain(source.id);
    const read = await t.call('get', `${base}/sources/${source.id}`, { token: viewer.token });
    expect(read.status).toBe(200);
    expect(sourceResponse.parse(read.body)).toEqual(source);
  });

  test('renames, disables and re-enables a source, bumping the config version on each change', async () => {
    const source = await create({ name: 'Before' });
    const v0 = await configVersion();
    const renamed = await t.call('patch', `${base}/sources/${source.id}`, {
      token: member.token,
      body: { name: 'After', dedupWindowSeconds: 60 },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'After', dedupWindowSeconds: 60, enabled: true });
    expect(renamed.body.writeKey).toBe(source.writeKey);
    const v1 = await configVersion();
    expect(v1).toBeGreaterThan(v0);

    const disabled = await t.call('patch', `${base}/sources/${source.id}`, {
      token: member.token,
      body: { enabled: false },
    });
    expect(disabled.body.enabled).toBe(false);
    const v2 = await configVersion();
    expect(v2).toBeGreaterThan(v1);

    const enabled = await t.call('patch', `${base}/sources/${source.id}`, {
      token: member.token,
      body: { enabled: true },
    });
    expect(enabled.body.enabled).toBe(true);
    expect(await configVersion()).toBeGreaterThan(v2);

    const actions = (await auditOf(source.id)).map((a) => a.action);
    expect(actions).toEqual(['source.create', 'source.update', 'source.update', 'source.update']);
    expect((await auditOf(source.id))[1].changes).toEqual({
      name: { from: 'Before', to: 'After' },
      dedupWindowSeconds: { from: 0, to: 60 },
    });
  });

  test('a patch that changes nothing writes nothing and leaves the config version alone', async () => {
    const source = await create({ name: 'Same' });
    const v0 = await configVersion();
    const res = await t.call('patch', `${base}/sources/${source.id}`, {
      token: member.token,
      body: { name: 'Same', enabled: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(source);
    expect(await configVersion()).toBe(v0);
    expect((await auditOf(source.id)).map((a) => a.action)).toEqual(['source.create']);
  });

  test('rotates the write key: the new key replaces the old one in the database and the response', async () => {
    const source = await create({ name: 'Rotated' });
    const v0 = await configVersion();
    const res = await t.call('post', `${base}/sources/${source.id}/rotate-write-key`, {
      token: member.token,
    });
    expect(res.status).toBe(200);
    const rotated = sourceResponse.parse(res.body);
    expect(rotated.writeKey).toMatch(/^[a-z0-9]{32}$/);
    expect(rotated.writeKey).not.toBe(source.writeKey);
    expect(rotated).toMatchObject({ id: source.id, name: 'Rotated', enabled: true });
    expect(await configVersion()).toBeGreaterThan(v0);

    const keys = await t.cp.deps.db.pool.query('SELECT write_key FROM sources WHERE write_key = ANY($1)', [
      [source.writeKey, rotated.writeKey],
    ]);
    expect(keys.rows).toEqual([{ write_key: rotated.writeKey }]);
  });

  test('keeps write keys out of the audit log and the logs', async () => {
    const source = await create({ name: 'Audited' });
    const rotated = (
      await t.call('post', `${base}/sources/${source.id}/rotate-write-key`, { token: member.token })
    ).body;
    await t.call('patch', `${base}/sources/${source.id}`, { token: member.token, body: { enabled: false } });
    await t.call('delete', `${base}/sources/${source.id}`, { token: member.token });
    const entries = await auditOf(source.id);
    expect(entries.map((a) => a.action)).toEqual([
      'source.create',
      'source.rotate_write_key',
      'source.update',
      'source.delete',
    ]);
    expect(entries.every((a) => a.actor_id === member.userId)).toBe(true);
    const text = JSON.stringify(entries);
    expect(text).not.toContain(source.writeKey);
    expect(text).not.toContain(rotated.writeKey);
    expect(t.logs()).not.toContain(source.writeKey);
    expect(t.logs()).not.toContain(rotated.writeKey);
  });

  test('deletes a source and the connections from it', async () => {
    const source = await create({ name: 'Doomed' });
    const destination = await t.call<{ id: string }>('post', `${base}/destinations`, {
      token: member.token,
      body: { name: 'Hook', type: 'webhook', config: { url: 'https://example.test/hook' } },
    });
    const connection = await t.call<{ id: string }>('post', `${base}/connections`, {
      token: member.token,
      body: { sourceId: source.id, destinationId: destination.body.id },
    });
    expect(connection.status).toBe(201);
    const v0 = await configVersion();

    expect((await t.call('delete', `${base}/sources/${source.id}`, { token: member.token })).status).toBe(
      204,
    );
    expect((await t.call('get', `${base}/sources/${source.id}`, { token: member.token })).status).toBe(404);
    expect(
      (await t.call('get', `${base}/connections/${connection.body.id}`, { token: member.token })).status,
    ).toBe(404);
    expect(await configVersion()).toBeGreaterThan(v0);
    const deleted = (await auditOf(source.id)).at(-1);
    expect(deleted).toMatchObject({
      action: 'source.delete',
      changes: { name: 'Doomed', connectionsRemoved: [connection.body.id] },
    });
    expect((await t.call('delete', `${base}/sources/${source.id}`, { token: member.token })).status).toBe(
      404,
    );
  });

  test('viewers read but may not change sources; non-members are told the tenant does not exist', async () => {
    const source = await create({ name: 'Guarded' });
    const v0 = await configVersion();
    const writes: [string, string, unknown?][] = [
      ['post', `${base}/sources`, { name: 'x' }],
      ['patch', `${base}/sources/${source.id}`, { name: 'x' }],
      ['post', `${base}/sources/${source.id}/rotate-write-key`],
      ['delete', `${base}/sources/${source.id}`],
    ];
    for (const [method, path, body] of writes) {
      expect((await t.call(method, path, { token: viewer.token, body })).status).toBe(403);
    }
    const stranger = await t.createUser();
    expect((await t.call('get', `${base}/sources`, { token: stranger.token })).status).toBe(404);
    expect((await t.call('get', `${base}/sources/${source.id}`, { token: stranger.token })).status).toBe(404);
    expect(await configVersion()).toBe(v0);
    expect((await t.call('get', `${base}/sources/${source.id}`, { token: member.token })).body).toEqual(
      source,
    );
  });

  test("answers 404 for another workspace's or another tenant's source, and changes neither", async () => {
    const mine = await create({ name: 'Mine' });
    const otherWorkspace = newId.workspace();
    await t.cp.deps.db.pool.query('INSERT INTO workspaces (tenant_id, id, name) VALUES ($1, $2, $3)', [
      tenantId,
      otherWorkspace,
      'Other',
    ]);
    const otherBase = `/v1/tenants/${tenantId}/workspaces/${otherWorkspace}`;
    const stranger = await t.createUser();
    const theirs = await t.createTenant(stranger);
    const theirSource = await t.call<{ id: string }>(
      'post',
      `/v1/tenants/${theirs.tenantId}/workspaces/${theirs.workspaceId}/sources`,
      {
        token: stranger.token,
        body: { name: 'Theirs' },
      },
    );
    expect(theirSource.status).toBe(201);
    const v0 = await configVersion();
    const theirV0 = await configVersion(theirs.tenantId);

    for (const [path, id] of [
      [otherBase, mine.id],
      [base, theirSource.body.id],
    ] as const) {
      expect((await t.call('get', `${path}/sources/${id}`, { token: owner.token })).status).toBe(404);
      expect(
        (await t.call('patch', `${path}/sources/${id}`, { token: owner.token, body: { name: 'Taken' } }))
          .status,
      ).toBe(404);
      expect(
        (await t.call('post', `${path}/sources/${id}/rotate-write-key`, { token: owner.token })).status,
      ).toBe(404);
      expect((await t.call('delete', `${path}/sources/${id}`, { token: owner.token })).status).toBe(404);
    }
    expect((await t.call('get', `${otherBase}/sources`, { token: owner.token })).body).toEqual({
      sources: [],
    });
    // A workspace id of another tenant under my tenant is no workspace at all.
    const foreignWs = `/v1/tenants/${tenantId}/workspaces/${theirs.workspaceId}`;
    expect((await t.call('get', `${foreignWs}/sources`, { token: owner.token })).status).toBe(404);
    expect(
      (await t.call('post', `${foreignWs}/sources`, { token: owner.token, body: { name: 'Planted' } }))
        .status,
    ).toBe(404);

    expect(await configVersion()).toBe(v0);
    expect(await configVersion(theirs.tenantId)).toBe(theirV0);
    const their = await t.call(
      'get',
      `/v1/tenants/${theirs.tenantId}/workspaces/${theirs.workspaceId}/sources/${theirSource.body.id}`,
      { token: stranger.token },
    );
    expect(their.body).toEqual(theirSource.body);
  });
});
