import { newId, newWriteKey } from '../src/ids.ts';
import { startTestControlPlane, type TestControlPlane } from './support/harness.ts';

describe('GET /sourceConfig for browser SDKs', () => {
  let t: TestControlPlane;
  let writeKey: string;
  let sourceId: string;
  let workspaceId: string;

  beforeAll(async () => {
    t = await startTestControlPlane();
    const owner = await t.createUser();
    let tenantId: string;
    ({ tenantId, workspaceId } = await t.createTenant(owner));
    writeKey = newWriteKey();
    sourceId = newId.source();
    const q = (sql: string, params: unknown[]) => t.cp.deps.db.pool.query(sql, params);
    await q(
      'INSERT INTO sources (tenant_id, workspace_id, id, name, write_key) VALUES ($1, $2, $3, $4, $5)',
      [tenantId, workspaceId, sourceId, 'Website', writeKey],
    );
    const dest = newId.destination();
    await q(
      `INSERT INTO destinations (tenant_id, workspace_id, id, name, type, config) VALUES ($1, $2, $3, $4, 'amplitude', $5)`,
      [tenantId, workspaceId, dest, 'Product analytics', JSON.stringify({ apiKey: 'amp-secret-key' })],
    );
    await q(
      'INSERT INTO connections (tenant_id, workspace_id, id, source_id, destination_id) VALUES ($1, $2, $3, $4, $5)',
      [tenantId, workspaceId, newId.connection(), sourceId, dest],
    );
  });
  afterAll(async () => {
    await t.stop();
  });

  test('answers the source and its destinations in the SDK shape, by query or Basic write key', async () => {
    const byQuery = await t.call('get', `/sourceConfig/?p=npm&v=3.0.0&writeKey=${writeKey}`);
    expect(byQuery.status).toBe(200);
    expect(byQuery.body.source).toMatchObject({
      id: sourceId,
      name: 'Website',
      writeKey,
      enabled: true,
      workspaceId,
      config: { statsCollection: { errors: { enabled: false }, metrics: { enabled: false } } },
    });
    expect(byQuery.body.source.destinations).toEqual([
      expect.objectContaining({
        name: 'Product analytics',
        enabled: true,
        destinationDefinition: { name: 'AMPLITUDE', displayName: 'Amplitude' },
        shouldApplyDeviceModeTransformation: false,
        propagateEventsUntransformedOnError: false,
      }),
    ]);
    const basic = Buffer.from(`${writeKey}:`).toString('base64');
    const byHeader = await t.call('get', '/sourceConfig', { headers: { authorization: `Basic ${basic}` } });
    expect(byHeader.body).toEqual(byQuery.body);
  });

  test('never sends a destination secret to the browser', async () => {
    const res = await t.call('get', `/sourceConfig?writeKey=${writeKey}`);
    expect(JSON.stringify(res.body)).not.toContain('amp-secret-key');
  });

  test('allows any site to load it (CORS preflight with Authorization)', async () => {
    const res = await fetch(`${t.url}/sourceConfig`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  test('refuses a missing or unknown write key with 401', async () => {
    expect((await t.call('get', '/sourceConfig')).status).toBe(401);
    const res = await t.call('get', '/sourceConfig?writeKey=unknown-key');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });
});
