import { createLogger } from '@rudder/common';
import { startDataPlane, loadConfig, type DataPlane } from '@rudder/dataplane';
import { createTestSchema, startSink, waitFor, type Sink } from '@rudder/devkit';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';

interface Delivered {
  messageId: string;
  userId: string;
  properties: { n: number };
}

/**
 * A replay requested through the control plane's API runs in a real data
 * plane: the source's archived events of the time range reach the chosen
 * destination once each, every user's in order, and the job reports it.
 */
describe('event replay through the control plane and a data plane', () => {
  let t: TestControlPlane;
  let sink: Sink;
  let owner: TestUser;
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let plane: DataPlane;

  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await t.call(method, path, { token: owner.token, body });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };

  beforeAll(async () => {
    t = await startTestControlPlane();
    sink = await startSink();
    schema = await createTestSchema('dp');
    owner = await t.createUser();
  });
  afterAll(async () => {
    await plane.stop();
    await sink.close();
    await t.stop();
    await schema.drop();
  });

  test("re-sends a source's archived events of a time range to a new destination, in order, once", async () => {
    const tenant = await t.createTenant(owner);
    const ws = `/v1/tenants/${tenant.tenantId}/workspaces/${tenant.workspaceId}`;
    const source = (await api('POST', `${ws}/sources`, { name: 'web' })) as { id: string; writeKey: string };
    const live = await api('POST', `${ws}/destinations`, {
      name: 'live',
      type: 'webhook',
      config: { url: `${sink.url}/live` },
    });
    await api('POST', `${ws}/connections`, { sourceId: source.id, destinationId: live.id });
    const { token } = await api('POST', `/v1/tenants/${tenant.tenantId}/dataplane-tokens`, { name: 'dp' });
    plane = await startDataPlane(
      loadConfig({
        DATABASE_URL: schema.url,
        DATABASE_SCHEMA: schema.schema,
        DATABASE_POOL_SIZE: '8',
        CONTROL_PLANE_URL: t.url,
        CONTROL_PLANE_TOKEN: token,
        PORT: '0',
        ADMIN_PORT: '0',
        PARTITIONS: '8',
        PROCESSOR_POLL_MS: '10',
        ROUTER_POLL_MS: '10',
        REPLAY_POLL_SECONDS: '1',
        // Small datasets, so most events are in archived tables by the time the replay reads them.
        JOBSDB_DATASET_MAX_ROWS: '100',
        JOBSDB_MAINTENANCE_INTERVAL_MS: '100',
      }),
      { logger: createLogger('dataplane', { level: 'silent' }) },
    );

    const from = new Date(Date.now() - 1000).toISOString();
    const auth = `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`;
    const users = 10;
    const perUser = 40;
    for (let n = 0; n < perUser; n++) {
      const batch = Array.from({ length: users }, (_, u) => ({
        type: 'track',
        event: 'Step',
        userId: `user-${u}`,
        messageId: `m-${u}-${n}`,
        properties: { n },
      }));
      const res = await fetch(`${plane.gatewayUrl!}/v1/batch`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ batch }),
      });
      expect(res.status).toBe(200);
    }
    const total = users * perUser;
    await waitFor('live delivery of every event', () => sink.events().length >= total, { timeoutMs: 30_000 });
    await waitFor(
      'finished datasets to be archived',
      async () =>
        (await plane.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM archives')).rows[0]!.n > 0,
      { timeoutMs: 30_000 },
    );
    const to = new Date().toISOString();

    // A destination added later, which the replay fills with the history it missed.
    const backfill = await api('POST', `${ws}/destinations`, {
      name: 'backfill',
      type: 'webhook',
      config: { url: `${sink.url}/backfill` },
    });
    await api('POST', `${ws}/connections`, { sourceId: source.id, destinationId: backfill.id });
    await waitFor(
      'the data plane to get the new destination',
      () => plane.config.destinations().has(backfill.id),
      {
        timeoutMs: 5_000,
      },
    );

    const { jobId } = (await api('POST', `/v1/tenants/${tenant.tenantId}/replays`, {
      workspaceId: tenant.workspaceId,
      sourceId: source.id,
      destinationId: backfill.id,
      from,
      to,
    })) as { jobId: string };
    let job: any;
    await waitFor(
      'the replay job to finish',
      async () => {
        job = await api('GET', `/v1/jobs/${jobId}`);
        return job.state === 'completed' || job.state === 'failed';
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(job.state).toBe('completed');
    await waitFor(
      'every replayed event at the new destination',
      () => sink.received.filter((r) => r.path === '/backfill').length >= total,
      { timeoutMs: 30_000 },
    );

    const replayed = sink.received.filter((r) => r.path === '/backfill').map((r) => r.body as Delivered);
    expect(replayed).toHaveLength(total);
    expect(new Set(replayed.map((e) => e.messageId)).size).toBe(total);
    for (let u = 0; u < users; u++) {
      const sequence = replayed.filter((e) => e.userId === `user-${u}`).map((e) => e.properties.n);
      expect(sequence).toEqual(Array.from({ length: perUser }, (_, n) => n));
    }
    expect(job.progress).toMatchObject({ replayed: total, total });
  });
});
