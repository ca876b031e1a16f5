import { newId } from '../src/ids.ts';
import {
  transformationListResponse,
  transformationResponse,
  transformationVersionListResponse,
  transformationVersionResponse,
} from '../src/transformations/transformation-schemas.ts';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';

const V1 = 'function transformEvent(event, metadata) {\n  return event;\n}\n';
const V2 =
  'function transformEvent(event, metadata) {\n  event.properties = { tagged: true };\n  return event;\n}\n';

describe('transformations', () => {
  let t: TestControlPlane;
  let owner: TestUser;
  let member: TestUser;
  let tenantId: string;
  let workspaceId: string;
  let base: string;

  const configVersion = async (tenant = tenantId): Promise<number> =>
    (await t.cp.deps.db.pool.query('SELECT config_version FROM tenants WHERE id = $1', [tenant])).rows[0]
      .config_version;
  const create = async (body: Record<string, unknown> = { name: 'Tagger', code: V1 }) => {
    const res = await t.call('post', `${base}/transformations`, { token: member.token, body });
    expect(res.status).toBe(201);
    return transformationResponse.parse(res.body);
  };
  const patch = (id: string, body: Record<string, unknown>) =>
    t.call('patch', `${base}/transformations/${id}`, { token: member.token, body });

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

  test('creates a transformation whose code is version 1', async () => {
    const v0 = await configVersion();
    const tr = await create();
    expect(tr).toMatchObject({
      workspaceId,
      name: 'Tagger',
      language: 'javascript',
      currentVersion: 1,
      code: V1,
    });
    expect(tr.id).toMatch(/^trf_/);
    expect(await configVersion()).toBeGreaterThan(v0);

    const read = await t.call('get', `${base}/transformations/${tr.id}`, { token: member.token });
    expect(transformationResponse.parse(read.body)).toEqual(tr);
    const list = transformationListResponse.parse(
      (await t.call('get', `${base}/transformations`, { token: member.token })).body,
    );
    const listed = list.transformations.find((x) => x.id === tr.id);
    // Lists leave the code out: it can be hundreds of kilobytes per transformation.
    expect(listed).toEqual({ ...tr, code: undefined });
    expect(listed).not.toHaveProperty('code');
  });

  test('new code becomes the next, current version; older versions stay readable', async () => {
    const tr = await create();
    const v0 = await configVersion();
    const updated = await patch(tr.id, { code: V2 });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ currentVersion: 2, code: V2, name: 'Tagger' });
    const v1 = await configVersion();
    expect(v1).toBeGreaterThan(v0);

    const versions = transformationVersionListResponse.parse(
      (await t.call('get', `${base}/transformations/${tr.id}/versions`, { token: member.token })).body,
    );
    expect(versions.versions.map((v) => v.version)).toEqual([2, 1]);
    expect(versions.versions.every((v) => v.createdBy === member.userId)).toBe(true);

    const first = await t.call('get', `${base}/transformations/${tr.id}/versions/1`, { token: member.token });
    expect(transformationVersionResponse.parse(first.body)).toMatchObject({ version: 1, code: V1 });
    expect(
      (await t.call('get', `${base}/transformations/${tr.id}/versions/3`, { token: member.token })).status,
    ).toBe(404);

    // Saving the current code again is no new version and no change.
    const same = await patch(tr.id, { code: V2 });
    expect(same.body.currentVersion).toBe(2);
    expect(await configVersion()).toBe(v1);

    // A rename keeps the version but is still a change the data plane sees.
    const renamed = await patch(tr.id, { name: 'Renamed' });
    expect(renamed.body).toMatchObject({ name: 'Renamed', currentVersion: 2, code: V2 });
    expect(await configVersion()).toBeGreaterThan(v1);

    const audit = await t.cp.deps.db.pool.query(
      'SELECT action, changes FROM audit_log WHERE object_id = $1 ORDER BY id',
      [tr.id],
    );
    expect(audit.rows).toEqual([
      {
        action: 'transformation.create',
        changes: { workspaceId, name: 'Tagger', version: 1, codeBytes: Buffer.byteLength(V1) },
      },
      {
        action: 'transformation.update',
        changes: { version: { from: 1, to: 2 }, codeBytes: Buffer.byteLength(V2) },
      },
      { action: 'transformation.update', changes: { name: { from: 'Tagger', to: 'Renamed' } } },
    ]);
  });

  test('accepts transformBatch and entry points declared as constants', async () => {
    await create({
      name: 'Batch',
      code: 'async function transformBatch(events, metadata) { return events; }',
    });
    await create({ name: 'Arrow', code: 'const transformEvent = (event) => event;', language: 'javascript' });
  });

  test('refuses to delete a transformation while a destination or connection uses it', async () => {
    const tr = await create();
    const source = await t.call<{ id: string }>('post', `${base}/sources`, {
      token: member.token,
      body: { name: 'S' },
    });
    const destination = await t.call<{ id: string }>('post', `${base}/destinations`, {
      token: member.token,
      body: {
        name: 'D',
        type: 'webhook',
        config: { url: 'https://example.test/x' },
        transformationId: tr.id,
      },
    });
    const connection = await t.call<{ id: string }>('post', `${base}/connections`, {
      token: member.token,
      body: { sourceId: source.body.id, destinationId: destination.body.id, transformationId: tr.id },
    });
    const v0 = await configVersion();

    const refused = await t.call('delete', `${base}/transformations/${tr.id}`, { token: member.token });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toEqual({
      destinationIds: [destination.body.id],
      connectionIds: [connection.body.id],
    });
    await t.call('patch', `${base}/connections/${connection.body.id}`, {
      token: member.token,
      body: { transformationId: null },
    });
    const stillUsed = await t.call('delete', `${base}/transformations/${tr.id}`, { token: member.token });
    expect(stillUsed.status).toBe(409);
    expect(stillUsed.body.error.details).toEqual({
      destinationIds: [destination.body.id],
      connectionIds: [],
    });
    await t.call('patch', `${base}/destinations/${destination.body.id}`, {
      token: member.token,
      body: { transformationId: null },
    });
    const v1 = await configVersion();
    expect(v1).toBeGreaterThan(v0);

    expect((await t.call('delete', `${base}/transformations/${tr.id}`, { token: member.token })).status).toBe(
      204,
    );
    expect((await t.call('get', `${base}/transformations/${tr.id}`, { token: member.token })).status).toBe(
      404,
    );
    expect(
      (
        await t.cp.deps.db.pool.query('SELECT 1 FROM transformation_versions WHERE transformation_id = $1', [
          tr.id,
        ])
      ).rowCount,
    ).toBe(0);
    expect(await configVersion()).toBeGreaterThan(v1);
  });

  test("answers 404 for another workspace's or another tenant's transformation, and changes neither", async () => {
    const mine = await create();
    const otherWorkspace = newId.workspace();
    await t.cp.deps.db.pool.query('INSERT INTO workspaces (tenant_id, id, name) VALUES ($1, $2, $3)', [
      tenantId,
      otherWorkspace,
      'Other',
    ]);
    const stranger = await t.createUser();
    const theirs = await t.createTenant(stranger);
    const theirBase = `/v1/tenants/${theirs.tenantId}/workspaces/${theirs.workspaceId}`;
    const theirT = await t.call<{ id: string }>('post', `${theirBase}/transformations`, {
      token: stranger.token,
      body: { name: 'Theirs', code: V1 },
    });
    const v0 = await configVersion();
    const theirV0 = await configVersion(theirs.tenantId);

    for (const [path, id] of [
      [`/v1/tenants/${tenantId}/workspaces/${otherWorkspace}`, mine.id],
      [base, theirT.body.id],
    ] as const) {
      const at = `${path}/transformations/${id}`;
      expect((await t.call('get', at, { token: owner.token })).status).toBe(404);
      expect((await t.call('get', `${at}/versions`, { token: owner.token })).status).toBe(404);
      expect((await t.call('get', `${at}/versions/1`, { token: owner.token })).status).toBe(404);
      expect((await t.call('patch', at, { token: owner.token, body: { code: V2 } })).status).toBe(404);
      expect((await t.call('delete', at, { token: owner.token })).status).toBe(404);
    }
    expect(await configVersion()).toBe(v0);
    expect(await configVersion(theirs.tenantId)).toBe(theirV0);
    const their = await t.call('get', `${theirBase}/transformations/${theirT.body.id}`, {
      token: stranger.token,
    });
    expect(their.body).toEqual(theirT.body);
  });
});
