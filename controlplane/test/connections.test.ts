import { newId } from '../src/ids.ts';
import { connectionListResponse, connectionResponse } from '../src/connections/connection-schemas.ts';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';

describe('connections', () => {
  let t: TestControlPlane;
  let owner: TestUser;
  let member: TestUser;
  let tenantId: string;
  let workspaceId: string;
  let base: string;

  const configVersion = async (tenant = tenantId): Promise<number> =>
    (await t.cp.deps.db.pool.query('SELECT config_version FROM tenants WHERE id = $1', [tenant])).rows[0]
      .config_version;
  const post = async (path: string, body: Record<string, unknown>, at = base): Promise<string> => {
    const res = await t.call('post', `${at}/${path}`, { token: member.token, body });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const pair = async () => ({
    sourceId: await post('sources', { name: 'S' }),
    destinationId: await post('destinations', {
      name: 'D',
      type: 'webhook',
      config: { url: 'https://example.test/hook' },
    }),
  });
  const transformation = () =>
    post('transformations', { name: 'T', code: 'function transformEvent(e) { return e; }' });

  beforeAll(async () => {
    t = await startTestControlPlane();
    owner = await t.createUser();
    member = await t.createUser();
    ({ tenantId, workspaceId } = await t.createTenant(owner));
    await t.addMember(tenantId, member, 'member');
    base = `/v1/tenants/${tenantId}/workspaces/${workspaceId}`;
  });
  afterAll(async () => {
    await t.stop();
  });

  test('connects a source to a destination, enabled and without a transformation by default', async () => {
    const { sourceId, destinationId } = await pair();
    const v0 = await configVersion();
    const res = await t.call('post', `${base}/connections`, {
      token: member.token,
      body: { sourceId, destinationId },
    });
    expect(res.status).toBe(201);
    const c = connectionResponse.parse(res.body);
    expect(c).toMatchObject({ workspaceId, sourceId, destinationId, enabled: true, transformationId: null });
    expect(c.id).toMatch(/^con_/);
    expect(await configVersion()).toBeGreaterThan(v0);

    const read = await t.call('get', `${base}/connections/${c.id}`, { token: member.token });
    expect(read.body).toEqual(c);
    const list = connectionListResponse.parse(
      (await t.call('get', `${base}/connections`, { token: member.token })).body,
    );
    expect(list.connections).toContainEqual(c);
  });

  test('refuses a second connection of the same pair with 409 naming the existing one', async () => {
    const ends = await pair();
    const first = await post('connections', ends);
    const v0 = await configVersion();
    const again = await t.call('post', `${base}/connections`, {
      token: member.token,
      body: { ...ends, enabled: false },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.details).toEqual({ ...ends, connectionId: first });
    expect(await configVersion()).toBe(v0);
  });

  test('disables, re-enables and sets or clears the transformation of a connection', async () => {
    const id = await post('connections', await pair());
    const transformationId = await transformation();
    const patch = async (body: Record<string, unknown>) => {
      const before = await configVersion();
      const res = await t.call('patch', `${base}/connections/${id}`, { token: member.token, body });
      expect(res.status).toBe(200);
      expect(await configVersion()).toBeGreaterThan(before);
      return connectionResponse.parse(res.body);
    };
    expect((await patch({ enabled: false })).enabled).toBe(false);
    expect((await patch({ enabled: true })).enabled).toBe(true);
    expect((await patch({ transformationId })).transformationId).toBe(transformationId);
    expect((await patch({ transformationId: null })).transformationId).toBeNull();

    const v0 = await configVersion();
    const same = await t.call('patch', `${base}/connections/${id}`, {
      token: member.token,
      body: { enabled: true, transformationId: null },
    });
    expect(same.status).toBe(200);
    expect(await configVersion()).toBe(v0);

    const audit = await t.cp.deps.db.pool.query(
      'SELECT action, changes FROM audit_log WHERE object_id = $1 ORDER BY id',
      [id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'connection.create',
      'connection.update',
      'connection.update',
      'connection.update',
      'connection.update',
    ]);
    expect(audit.rows[3].changes).toEqual({ transformationId: { from: null, to: transformationId } });
  });

  test('deletes a connection and leaves its source and destination', async () => {
    const ends = await pair();
    const id = await post('connections', ends);
    const v0 = await configVersion();
    expect((await t.call('delete', `${base}/connections/${id}`, { token: member.token })).status).toBe(204);
    expect((await t.call('get', `${base}/connections/${id}`, { token: member.token })).status).toBe(404);
    expect(await configVersion()).toBeGreaterThan(v0);
    expect((await t.call('get', `${base}/sources/${ends.sourceId}`, { token: member.token })).status).toBe(
      200,
    );
    expect(
      (await t.call('get', `${base}/destinations/${ends.destinationId}`, { token: member.token })).status,
    ).toBe(200);
    // Deleted, the pair may be connected again.
    expect((await t.call('post', `${base}/connections`, { token: member.token, body: ends })).status).toBe(
      201,
    );
  });

  test('refuses ends and transformations of another workspace as unknown fields of the body', async () => {
    const otherWorkspace = newId.workspace();
    await t.cp.deps.db.pool.query('INSERT INTO workspaces (tenant_id, id, name) VALUES ($1, $2, $3)', [
      tenantId,
      otherWorkspace,
      'Other',
    ]);
    const otherBase = `/v1/tenants/${tenantId}/workspaces/${otherWorkspace}`;
    const mine = await pair();
    const theirSource = await post('sources', { name: 'S2' }, otherBase);
    const theirTransformation = await post(
      'transformations',
      { name: 'T2', code: 'function transformBatch(events) { return events; }' },
      otherBase,
    );
    const v0 = await configVersion();
    const cases: [Record<string, unknown>, string][] = [
      [{ ...mine, sourceId: theirSource }, 'body.sourceId'],
      [{ sourceId: mine.sourceId, destinationId: mine.sourceId }, 'body.destinationId'],
      [{ ...mine, transformationId: theirTransformation }, 'body.transformationId'],
    ];
    for (const [body, field] of cases) {
      const res = await t.call('post', `${base}/connections`, { token: member.token, body });
      expect(res.status).toBe(400);
      expect(res.body.error.details.field).toBe(field);
    }
    // Nor may a connection of this workspace be read or changed through the other one's path.
    const id = await post('connections', mine);
    const v1 = await configVersion();
    expect(v1).toBeGreaterThan(v0);
    expect((await t.call('get', `${otherBase}/connections/${id}`, { token: owner.token })).status).toBe(404);
    const patched = await t.call('patch', `${otherBase}/connections/${id}`, {
      token: owner.token,
      body: { enabled: false },
    });
    expect(patched.status).toBe(404);
    expect((await t.call('delete', `${otherBase}/connections/${id}`, { token: owner.token })).status).toBe(
      404,
    );
    expect(await configVersion()).toBe(v1);
  });

  test("answers 404 for another tenant's connection and changes nothing of it", async () => {
    const stranger = await t.createUser();
    const theirs = await t.createTenant(stranger);
    const theirBase = `/v1/tenants/${theirs.tenantId}/workspaces/${theirs.workspaceId}`;
    const s = await t.call<{ id: string }>('post', `${theirBase}/sources`, {
      token: stranger.token,
      body: { name: 'S' },
    });
    const d = await t.call<{ id: string }>('post', `${theirBase}/destinations`, {
      token: stranger.token,
      body: { name: 'D', type: 'webhook', config: { url: 'https://example.test/x' } },
    });
    const c = await t.call<{ id: string }>('post', `${theirBase}/connections`, {
      token: stranger.token,
      body: { sourceId: s.body.id, destinationId: d.body.id },
    });
    const theirV0 = await configVersion(theirs.tenantId);
    expect((await t.call('get', `${base}/connections/${c.body.id}`, { token: owner.token })).status).toBe(
      404,
    );
    expect(
      (
        await t.call('patch', `${base}/connections/${c.body.id}`, {
          token: owner.token,
          body: { enabled: false },
        })
      ).status,
    ).toBe(404);
    expect((await t.call('delete', `${base}/connections/${c.body.id}`, { token: owner.token })).status).toBe(
      404,
    );
    // Their source and destination cannot be wired into my workspace either.
    const planted = await t.call('post', `${base}/connections`, {
      token: owner.token,
      body: { sourceId: s.body.id, destinationId: d.body.id },
    });
    expect(planted.status).toBe(400);
    expect(await configVersion(theirs.tenantId)).toBe(theirV0);
    expect(
      (await t.call('get', `${theirBase}/connections/${c.body.id}`, { token: stranger.token })).body,
    ).toEqual(c.body);
  });
});
