import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';

let t: TestControlPlane;
let owner: TestUser;
let tenantId: string;
let otherOwner: TestUser;
let otherTenantId: string;

beforeAll(async () => {
  t = await startTestControlPlane();
  owner = await t.createUser();
  ({ tenantId } = await t.createTenant(owner));
  otherOwner = await t.createUser();
  ({ tenantId: otherTenantId } = await t.createTenant(otherOwner));
});
afterAll(async () => {
  await t.stop();
});

async function createApiToken(
  tenant: string,
  body: Record<string, unknown>,
  token = owner.token,
): Promise<{ id: string; token: string }> {
  const res = await t.call('post', `/v1/tenants/${tenant}/api-tokens`, { token, body });
  expect(res.status).toBe(201);
  return res.body;
}

async function createDataplaneToken(
  tenant: string,
  token = owner.token,
): Promise<{ id: string; token: string }> {
  const res = await t.call('post', `/v1/tenants/${tenant}/dataplane-tokens`, { token, body: { name: 'dp' } });
  expect(res.status).toBe(201);
  return res.body;
}

async function auditOf(objectId: string): Promise<{ action: string; actor_id: string; changes: unknown }[]> {
  const r = await t.cp.deps.db.pool.query(
    'SELECT action, actor_id, changes FROM audit_log WHERE tenant_id = $1 AND object_id = $2 ORDER BY id',
    [tenantId, objectId],
  );
  return r.rows;
}

describe('API tokens', () => {
  test('creates a token shown once, lists it without its secret, and audits it without its secret', async () => {
    const res = await t.call('post', `/v1/tenants/${tenantId}/api-tokens`, {
      token: owner.token,
      body: { name: 'ci', role: 'member', expiresInDays: 30 },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^tok_/), name: 'ci', role: 'member' });
    expect(res.body.token).toMatch(/^rdr_api_/);
    const days = (Date.parse(res.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);

    const list = await t.call('get', `/v1/tenants/${tenantId}/api-tokens`, { token: owner.token });
    expect(list.status).toBe(200);
    const listed = list.body.tokens.find((x: { id: string }) => x.id === res.body.id);
    expect(listed).toEqual({
      id: res.body.id,
      name: 'ci',
      role: 'member',
      createdBy: owner.userId,
      createdAt: expect.any(String),
      expiresAt: res.body.expiresAt,
      lastUsedAt: null,
    });
    expect(JSON.stringify(list.body)).not.toContain(res.body.token);

    const audit = await auditOf(res.body.id);
    expect(audit).toEqual([
      {
        action: 'api_token.create',
        actor_id: owner.userId,
        changes: { name: 'ci', role: 'member', expiresAt: res.body.expiresAt },
      },
    ]);
  });

  test('an API token acts in its own tenant with its own role, and is not a person', async () => {
    const admin = await createApiToken(tenantId, { name: 'admin', role: 'admin' });
    const viewer = await createApiToken(tenantId, { name: 'viewer', role: 'viewer' });
    expect((await t.call('get', `/v1/tenants/${tenantId}/api-tokens`, { token: admin.token })).status).toBe(
      200,
    );
    expect((await t.call('get', `/v1/tenants/${tenantId}/api-tokens`, { token: viewer.token })).status).toBe(
      403,
    );
    expect(
      (await t.call('get', `/v1/tenants/${otherTenantId}/api-tokens`, { token: admin.token })).status,
    ).toBe(404);
    expect((await t.call('get', '/v1/me', { token: admin.token })).status).toBe(403);
    expect((await t.call('post', '/v1/auth/logout-all', { token: admin.token })).status).toBe(403);
  });

  test('lets admins mint API tokens up to admin, and nobody an owner token', async () => {
    const member = await t.createUser();
    await t.addMember(tenantId, member, 'member');
    const asMember = await t.call('post', `/v1/tenants/${tenantId}/api-tokens`, {
      token: member.token,
      body: { name: 'x', role: 'viewer' },
    });
    expect(asMember.status).toBe(403);

    const ownerRole = await t.call('post', `/v1/tenants/${tenantId}/api-tokens`, {
      token: owner.token,
      body: { name: 'x', role: 'owner' },
    });
    expect(ownerRole.status).toBe(400);
    expect(ownerRole.body.error.details.field).toBe('body.role');

    const admin = await createApiToken(tenantId, { name: 'admin', role: 'admin' });
    const minted = await t.call('post', `/v1/tenants/${tenantId}/api-tokens`, {
      token: admin.token,
      body: { name: 'child', role: 'admin' },
    });
    expect(minted.status).toBe(201);
    expect((await auditOf(minted.body.id))[0]?.actor_id).toBe(admin.id);
  });

  test('a revoked API token is refused on its next call; revoking again changes nothing', async () => {
    const admin = await createApiToken(tenantId, { name: 'soon revoked', role: 'admin' });
    const path = `/v1/tenants/${tenantId}/api-tokens`;
    expect((await t.call('get', path, { token: admin.token })).status).toBe(200);

    expect((await t.call('delete', `${path}/${admin.id}`, { token: owner.token })).status).toBe(204);
    const refused = await t.call('get', path, { token: admin.token });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');
    const list = await t.call('get', path, { token: owner.token });
    expect(list.body.tokens.map((x: { id: string }) => x.id)).not.toContain(admin.id);

    expect((await t.call('delete', `${path}/${admin.id}`, { token: owner.token })).status).toBe(204);
    expect((await auditOf(admin.id)).map((a) => a.action)).toEqual(['api_token.create', 'api_token.revoke']);
  });

  test('an expired API token is refused', async () => {
    const admin = await createApiToken(tenantId, { name: 'short', role: 'admin', expiresInDays: 1 });
    const path = `/v1/tenants/${tenantId}/api-tokens`;
    expect((await t.call('get', path, { token: admin.token })).status).toBe(200);
    await t.cp.deps.db.pool.query(
      `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [admin.id],
    );
    expect((await t.call('get', path, { token: admin.token })).status).toBe(401);
  });

  test("cannot revoke another tenant's token, which keeps working", async () => {
    const theirs = await createApiToken(otherTenantId, { name: 'theirs', role: 'admin' }, otherOwner.token);
    const res = await t.call('delete', `/v1/tenants/${tenantId}/api-tokens/${theirs.id}`, {
      token: owner.token,
    });
    expect(res.status).toBe(404);
    expect(
      (await t.call('get', `/v1/tenants/${otherTenantId}/api-tokens`, { token: theirs.token })).status,
    ).toBe(200);
  });
});

describe('data-plane tokens', () => {
  test('creates a token shown once, lists it without its secret, and audits it without its secret', async () => {
    const created = await createDataplaneToken(tenantId);
    expect(created).toEqual({
      id: expect.stringMatching(/^dpt_/),
      name: 'dp',
      createdAt: expect.any(String),
      lastUsedAt: null,
      token: expect.stringMatching(/^rdr_dp_/),
    });
    const list = await t.call('get', `/v1/tenants/${tenantId}/dataplane-tokens`, { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.tokens.map((x: { id: string }) => x.id)).toContain(created.id);
    expect(JSON.stringify(list.body)).not.toContain(created.token);
    expect(await auditOf(created.id)).toEqual([
      { action: 'dataplane_token.create', actor_id: owner.userId, changes: { name: 'dp' } },
    ]);
  });

  test('only admins manage data-plane tokens', async () => {
    const member = await t.createUser();
    await t.addMember(tenantId, member, 'member');
    const path = `/v1/tenants/${tenantId}/dataplane-tokens`;
    expect((await t.call('get', path, { token: member.token })).status).toBe(403);
    expect((await t.call('post', path, { token: member.token, body: { name: 'x' } })).status).toBe(403);
    expect((await t.call('get', path, { token: otherOwner.token })).status).toBe(404);
  });

  test('a data-plane token cannot call user routes', async () => {
    const dp = await createDataplaneToken(tenantId);
    for (const path of ['/v1/me', `/v1/tenants/${tenantId}/dataplane-tokens`]) {
      const res = await t.call('get', path, { token: dp.token });
      expect(res.status).toBe(401);
    }
  });

  test('a user or API token cannot call data-plane routes', async () => {
    const api = await createApiToken(tenantId, { name: 'api', role: 'admin' });
    for (const token of [owner.token, api.token])
      expect((await t.call('get', '/v1/dataplane/config', { token })).status).toBe(401);
  });

  test('a revoked data-plane token is refused by the config endpoint at once; revoking again changes nothing', async () => {
    const dp = await createDataplaneToken(tenantId);
    expect((await t.call('get', '/v1/dataplane/config', { token: dp.token })).status).toBe(200);

    const path = `/v1/tenants/${tenantId}/dataplane-tokens/${dp.id}`;
    expect((await t.call('delete', path, { token: owner.token })).status).toBe(204);
    const refused = await t.call('get', '/v1/dataplane/config', { token: dp.token });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');

    expect((await t.call('delete', path, { token: owner.token })).status).toBe(204);
    expect((await auditOf(dp.id)).map((a) => a.action)).toEqual([
      'dataplane_token.create',
      'dataplane_token.revoke',
    ]);
  });

  test("cannot revoke another tenant's data-plane token, which keeps working", async () => {
    const theirs = await createDataplaneToken(otherTenantId, otherOwner.token);
    const res = await t.call('delete', `/v1/tenants/${tenantId}/dataplane-tokens/${theirs.id}`, {
      token: owner.token,
    });
    expect(res.status).toBe(404);
    expect((await t.call('get', '/v1/dataplane/config', { token: theirs.token })).status).toBe(200);
  });
});

test('documents a response schema for every token route that answers with a body', async () => {
  const doc = (await t.call('get', '/openapi.json')).body;
  for (const kind of ['api-tokens', 'dataplane-tokens']) {
    const list = doc.paths[`/v1/tenants/{tenantId}/${kind}`];
    expect(list.post.responses['201'].content['application/json'].schema.properties).toHaveProperty('token');
    expect(list.get.responses['200'].content['application/json'].schema.properties).toHaveProperty('tokens');
    expect(list.get['x-rudder-role']).toBe('admin');
    expect(Object.keys(doc.paths[`/v1/tenants/{tenantId}/${kind}/{tokenId}`].delete.responses)).toContain(
      '204',
    );
  }
});
