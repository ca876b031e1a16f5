import { waitFor } from '@rudder/devkit';
import { issueDataplaneToken } from '../src/dataplane-api/dataplane-tokens.ts';
import { newId, newWriteKey } from '../src/ids.ts';
import { startTestControlPlane, type TestControlPlane } from './support/harness.ts';

describe('data-plane config endpoint', () => {
  let t: TestControlPlane;
  let tenantId: string;
  let workspaceId: string;
  let token: string;
  let otherToken: string;

  const addSource = async (tenant: string, workspace: string): Promise<string> => {
    const id = newId.source();
    await t.cp.deps.db.pool.query(
      'INSERT INTO sources (tenant_id, workspace_id, id, name, write_key) VALUES ($1, $2, $3, $4, $5)',
      [tenant, workspace, id, 'web', newWriteKey()],
    );
    return id;
  };

  beforeAll(async () => {
    t = await startTestControlPlane();
    const owner = await t.createUser();
    ({ tenantId, workspaceId } = await t.createTenant(owner));
    ({ token } = await issueDataplaneToken(t.cp.deps.db.pool, tenantId, 'dp'));
    const other = await t.createTenant(owner);
    await addSource(other.tenantId, other.workspaceId);
    ({ token: otherToken } = await issueDataplaneToken(t.cp.deps.db.pool, other.tenantId, 'dp'));
  });
  afterAll(async () => {
    await t.stop();
  });

  test("serves the token's own tenant config with an ETag, and 304 for a matching If-None-Match", async () => {
    const sourceId = await addSource(tenantId, workspaceId);
    const first = await t.call('get', '/v1/dataplane/config', { token });
    expect(first.status).toBe(200);
    expect(first.body.tenantId).toBe(tenantId);
    expect(first.body.workspaces[0].sources.map((s: { id: string }) => s.id)).toEqual([sourceId]);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"\d+"$/);
    expect(first.body.version).toBe(etag.slice(1, -1));

    const again = await t.call('get', '/v1/dataplane/config', { token, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
  });

  test('another tenant’s token sees only its own tenant', async () => {
    const res = await t.call('get', '/v1/dataplane/config', { token: otherToken });
    expect(res.status).toBe(200);
    expect(res.body.tenantId).not.toBe(tenantId);
    const ids = JSON.stringify(res.body);
    expect(ids).not.toContain(workspaceId);
  });

  test('a held long-poll answers with the new config as soon as a change commits', async () => {
    const current = await t.call('get', '/v1/dataplane/config', { token });
    const etag = current.headers.get('etag')!;
    let answered = false;
    const held = t
      .call('get', '/v1/dataplane/config?waitSeconds=20', { token, headers: { 'if-none-match': etag } })
      .finally(() => (answered = true));
    await waitFor('the long-poll to be held open', () => t.cp.deps.configEvents.waiting() > 0, {
      timeoutMs: 5_000,
    });
    expect(answered).toBe(false);
    const changedAt = Date.now();
    const sourceId = await addSource(tenantId, workspaceId);
    const res = await held;
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).not.toBe(etag);
    expect(JSON.stringify(res.body)).toContain(sourceId);
    expect(Date.now() - changedAt).toBeLessThan(2_000);
  });

  test('a long-poll with no change ends in 304 after the wait', async () => {
    const current = await t.call('get', '/v1/dataplane/config', { token });
    const etag = current.headers.get('etag')!;
    const res = await t.call('get', '/v1/dataplane/config?waitSeconds=1', {
      token,
      headers: { 'if-none-match': etag },
    });
    expect(res.status).toBe(304);
  });

  test('refuses user tokens, unknown and revoked data-plane tokens', async () => {
    const user = await t.createUser();
    expect((await t.call('get', '/v1/dataplane/config', { token: user.token })).status).toBe(401);
    expect((await t.call('get', '/v1/dataplane/config', { token: 'rdr_dp_nope' })).status).toBe(401);
    const { id, token: revoked } = await issueDataplaneToken(t.cp.deps.db.pool, tenantId, 'old');
    expect((await t.call('get', '/v1/dataplane/config', { token: revoked })).status).toBe(200);
    await t.cp.deps.db.pool.query('UPDATE dataplane_tokens SET revoked_at = now() WHERE id = $1', [id]);
    expect((await t.call('get', '/v1/dataplane/config', { token: revoked })).status).toBe(401);
  });
});
