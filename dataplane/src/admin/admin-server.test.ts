import { createLogger } from '@rudder/common';
import type { JobsDb } from '../jobsdb/index.ts';
import { createAdminServer } from './admin-server.ts';

// The routes under test never reach the database, the config or the transformer.
const app = createAdminServer({
  db: {} as JobsDb,
  config: {} as never,
  transformer: {} as never,
  token: 'admin-secret',
  logger: createLogger('test', { level: 'silent' }),
});

describe('admin API authentication', () => {
  it('answers /health without a token, so kubelet probes work', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('refuses every other route without the bearer token', async () => {
    for (const url of [
      '/admin/v1/stats',
      '/admin/v1/failed-events',
      '/health/../admin/v1/stats',
      '/health?x=1',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 401 });
    }
  });
});
