import { newId } from '../src/ids.ts';
import { destinationListResponse, destinationResponse } from '../src/destinations/destination-schemas.ts';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';

const TRANSFORM = 'function transformEvent(event) { return event; }';

describe('destinations', () => {
  let t: TestControlPlane;
  let owner: TestUser;
  let member: TestUser;
  let tenantId: string;
  let workspaceId: string;
  let base: string;

  const configVersion = async (tenant = tenantId): Promise<number> =>
    (await t.cp.deps.db.pool.query('SELECT config_version FROM tenants WHERE id = $1', [tenant])).rows[0]
      .config_version;
  const auditOf = async (objectId: string) =>
    (
      await t.cp.deps.db.pool.query(
        'SELECT action, changes FROM audit_log WHERE tenant_id = $1 AND object_id = $2 ORDER BY id',
        [tenantId, objectId],
      )
    ).rows;
  const create = async (body: Record<string, unknown>) => {
    const res = await t.call('post', `${base}/destinations`, { token: member.token, body });
    expect(res.status).toBe(201);
    return destinationResponse.parse(res.body);
  };
  const webhook = (url = 'https://example.test/hook') => ({ name: 'Hook', type: 'webhook', config: { url } });
  const transformation = async (): Promise<string> => {
    const res = await t.call('post', `${base}/transformations`, {
      token: member.token,
      body: { name: 'T', code: TRANSFORM },
    });
    expect(res.status).toBe(201);
    return res.body.id;
  };

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

  test('creates a webhook destination and stores its config as written, without the defaults', async () => {
    const before = await configVersion();
    const d = await create(webhook());
    expect(d).toMatchObject({
      workspaceId,
      name: 'Hook',
      type: 'webhook',
      enabled: true,
      config: { url: 'https://example.test/hook' },
      eventFilter: {},
      delivery: {},
      transformationId: null,
    });
    expect(d.id).toMatch(/^dst_/);
    expect(await configVersion()).toBeGreaterThan(before);
    const stored = await t.cp.deps.db.pool.query('SELECT config FROM destinations WHERE id = $1', [d.id]);
    expect(stored.rows[0].config).toEqual({ url: 'https://example.test/hook' });
  });

  test('creates an Amplitude destination with an event filter, delivery overrides and a transformation', async () => {
    const transformationId = await transformation();
    const d = await create({
      name: 'Product analytics',
      type: 'amplitude',
      enabled: false,
      config: { apiKey: 'amp-secret-key', dataResidency: 'eu' },
      eventFilter: { messageTypes: ['track', 'identify'], denyEvents: ['Heartbeat'] },
      delivery: { concurrency: 4, rateLimitPerSecond: 50 },
      transformationId,
    });
    expect(d).toMatchObject({
      type: 'amplitude',
      enabled: false,
      config: { apiKey: 'amp-secret-key', dataResidency: 'eu' },
      eventFilter: { messageTypes: ['track', 'identify'], denyEvents: ['Heartbeat'] },
      delivery: { concurrency: 4, rateLimitPerSecond: 50 },
      transformationId,
    });
    const read = await t.call('get', `${base}/destinations/${d.id}`, { token: member.token });
    expect(destinationResponse.parse(read.body)).toEqual(d);
    const list = destinationListResponse.parse(
      (await t.call('get', `${base}/destinations`, { token: member.token })).body,
    );
    expect(list.destinations.map((x) => x.id)).toContain(d.id);
  });

  test('audits config changes by key, never by value, since configs hold credentials', async () => {
    const d = await create({ name: 'Amp', type: 'amplitude', config: { apiKey: 'first-secret' } });
    await t.call('patch', `${base}/destinations/${d.id}`, {
      token: member.token,
      body: { config: { apiKey: 'second-secret', minIdLength: 1 } },
    });
    const entries = await auditOf(d.id);
    expect(entries[0]).toMatchObject({
      action: 'destination.create',
      changes: { name: 'Amp', type: 'amplitude', configKeys: ['apiKey'] },
    });
    expect(entries[1]).toEqual({
      action: 'destination.update',
      changes: { configKeysChanged: ['apiKey', 'minIdLength'] },
    });
    expect(JSON.stringify(entries)).not.toMatch(/first-secret|second-secret/);
  });

  test('a patch replaces the fields it names and re-validates the destination as a whole', async () => {
    const d = await create({
      ...webhook(),
      config: { url: 'https://example.test/a', batching: true },
      eventFilter: { allowEvents: ['Signed Up'] },
    });
    const v0 = await configVersion();

    const renamed = await t.call('patch', `${base}/destinations/${d.id}`, {
      token: member.token,
      body: { name: 'Renamed', config: { url: 'https://example.test/b' } },
    });
    expect(renamed.status).toBe(200);
    // `config` is replaced whole: `batching` is gone, the other fields are kept.
    expect(renamed.body).toMatchObject({
      name: 'Renamed',
      config: { url: 'https://example.test/b' },
      eventFilter: { allowEvents: ['Signed Up'] },
    });
    const v1 = await configVersion();
    expect(v1).toBeGreaterThan(v0);

    // A new type is checked against the stored config: a webhook config is no Amplitude config.
    const retyped = await t.call('patch', `${base}/destinations/${d.id}`, {
      token: member.token,
      body: { type: 'amplitude' },
    });
    expect(retyped.status).toBe(400);
    expect(retyped.body.error.details.field).toBe('body.config.apiKey');
    expect(await configVersion()).toBe(v1);

    const switched = await t.call('patch', `${base}/destinations/${d.id}`, {
      token: member.token,
      body: { type: 'amplitude', config: { apiKey: 'k' } },
    });
    expect(switched.status).toBe(200);
    expect(switched.body).toMatchObject({ type: 'amplitude', config: { apiKey: 'k' } });
    expect(await configVersion()).toBeGreaterThan(v1);
  });

  test('enables and disables a destination; an unchanged patch writes nothing', async () => {
    const d = await create(webhook());
    const v0 = await configVersion();
    const off = await t.call('patch', `${base}/destinations/${d.id}`, {
      token: member.token,
      body: { enabled: false },
    });
    expect(off.body.enabled).toBe(false);
    const v1 = await configVersion();
    expect(v1).toBeGreaterThan(v0);
    const on = await t.call('patch', `${base}/destinations/${d.id}`, {
      token: member.token,
      body: { enabled: true },
    });
    expect(on.body.enabled).toBe(true);
    const v2 = await configVersion();
    expect(v2).toBeGreaterThan(v1);

    const same = await t.call('patch', `${base}/destinations/${d.id}`, {
      token: member.token,
      body: { enabled: true, config: { url: 'https://example.test/hook' } },
    });
    expect(same.status).toBe(200);
    expect(await configVersion()).toBe(v2);
  });

  test('attaches and detaches a transformation', async () => {
    const d = await create(webhook());
    const transformationId = await transformation();
    const attached = await t.call('patch', `${base}/destinations/${d.id}`, {
      token: member.token,
      body: { transformationId },
    });
    expect(attached.body.transformationId).toBe(transformationId);
    const detached = await t.call('patch', `${base}/destinations/${d.id}`, {
      token: member.token,
      body: { transformationId: null },
    });
    expect(detached.status).toBe(200);
    expect(detached.body.transformationId).toBeNull();
    expect((await auditOf(d.id)).at(-1).changes).toEqual({
      transformationId: { from: transformationId, to: null },
    });
  });

  test('deletes a destination and the connections to it', async () => {
    const d = await create(webhook());
    const source = await t.call<{ id: string }>('post', `${base}/sources`, {
      token: member.token,
      body: { name: 'S' },
    });
    const connection = await t.call<{ id: string }>('post', `${base}/connections`, {
      token: member.token,
      body: { sourceId: source.body.id, destinationId: d.id },
    });
    const v0 = await configVersion();
    expect((await t.call('delete', `${base}/destinations/${d.id}`, { token: member.token })).status).toBe(
      204,
    );
    expect((await t.call('get', `${base}/destinations/${d.id}`, { token: member.token })).status).toBe(404);
    expect(
      (await t.call('get', `${base}/connections/${connection.body.id}`, { token: member.token })).status,
    ).toBe(404);
    expect((await t.call('get', `${base}/sources/${source.body.id}`, { token: member.token })).status).toBe(
      200,
    );
    expect(await configVersion()).toBeGreaterThan(v0);
    expect((await auditOf(d.id)).at(-1)).toEqual({
      action: 'destination.delete',
      changes: { name: 'Hook', type: 'webhook', connectionsRemoved: [connection.body.id] },
    });
  });

  test("answers 404 for another workspace's or another tenant's destination, and changes neither", async () => {
    const mine = await create(webhook());
    const otherWorkspace = newId.workspace();
    await t.cp.deps.db.pool.query('INSERT INTO workspaces (tenant_id, id, name) VALUES ($1, $2, $3)', [
      tenantId,
      otherWorkspace,
      'Other',
    ]);
    const stranger = await t.createUser();
    const theirs = await t.createTenant(stranger);
    const theirBase = `/v1/tenants/${theirs.tenantId}/workspaces/${theirs.workspaceId}`;
    const theirDestination = await t.call<{ id: string }>('post', `${theirBase}/destinations`, {
      token: stranger.token,
      body: webhook(),
    });
    const v0 = await configVersion();
    const theirV0 = await configVersion(theirs.tenantId);

    for (const [path, id] of [
      [`/v1/tenants/${tenantId}/workspaces/${otherWorkspace}`, mine.id],
      [base, theirDestination.body.id],
    ] as const) {
      expect((await t.call('get', `${path}/destinations/${id}`, { token: owner.token })).status).toBe(404);
      const patched = await t.call('patch', `${path}/destinations/${id}`, {
        token: owner.token,
        body: { enabled: false },
      });
      expect(patched.status).toBe(404);
      expect((await t.call('delete', `${path}/destinations/${id}`, { token: owner.token })).status).toBe(404);
    }
    expect(await configVersion()).toBe(v0);
    expect(await configVersion(theirs.tenantId)).toBe(theirV0);
    expect(
      (
        await t.call('get', `${theirBase}/destinations/${theirDestination.body.id}`, {
          token: stranger.token,
        })
      ).body,
    ).toEqual(theirDestination.body);
  });
});
