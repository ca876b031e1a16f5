import { startTestControlPlane, type TestControlPlane } from './support/harness.ts';

describe('control plane', () => {
  let t: TestControlPlane;
  beforeAll(async () => {
    t = await startTestControlPlane();
  });
  afterAll(async () => {
    await t.stop();
  });

  test('answers health and readiness once Postgres and Redis are up', async () => {
    expect((await t.call('get', '/health')).status).toBe(200);
    expect((await t.call('get', '/ready')).body).toEqual({ status: 'ready' });
  });

  test('answers unknown routes with a JSON 404', async () => {
    const res = await t.call('get', '/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  test('creates tenants with DNS-label ids', async () => {
    const user = await t.createUser();
    const { tenantId } = await t.createTenant(user);
    expect(tenantId).toMatch(/^t[a-z0-9]+$/);
  });
});
