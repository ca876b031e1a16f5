import { createLogger } from '@rudder/common';
import { startDataPlane, loadConfig, type DataPlane } from '@rudder/dataplane';
import { createTestSchema, startSink, waitFor, type Sink } from '@rudder/devkit';
import { startTestControlPlane, type TestControlPlane, type TestUser } from './support/harness.ts';

/**
 * A running data plane pulls its config from the control plane: a change made
 * through the API reaches it within 2 seconds under load, losing and
 * duplicating nothing; with the control plane gone, a restarted data plane
 * runs on the config cached in its own database.
 */
describe('config propagation to a running data plane', () => {
  let t: TestControlPlane;
  let sink: Sink;
  let owner: TestUser;
  let schema: Awaited<ReturnType<typeof createTestSchema>>;
  let plane: DataPlane | undefined;
  let ws: string;
  let writeKey: string;
  let destinationId: string;
  let dataplaneToken: string;

  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await t.call(method, path, { token: owner.token, body });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };

  const startPlane = async (): Promise<DataPlane> =>
    startDataPlane(
      loadConfig({
        DATABASE_URL: schema.url,
        DATABASE_SCHEMA: schema.schema,
        DATABASE_POOL_SIZE: '8',
        CONTROL_PLANE_URL: t.url,
        CONTROL_PLANE_TOKEN: dataplaneToken,
        CONFIG_WAIT_SECONDS: '20',
        PORT: '0',
        ADMIN_PORT: '0',
        PARTITIONS: '8',
        ROUTER_POLL_MS: '10',
        PROCESSOR_POLL_MS: '10',
      }),
      { logger: createLogger('dataplane', { level: 'silent' }) },
    );

  beforeAll(async () => {
    t = await startTestControlPlane();
    sink = await startSink();
    schema = await createTestSchema('dp');
    owner = await t.createUser();
    const tenant = await t.createTenant(owner);
    ws = `/v1/tenants/${tenant.tenantId}/workspaces/${tenant.workspaceId}`;
    const source = await api('POST', `${ws}/sources`, { name: 'web' });
    writeKey = source.writeKey;
    const destination = await api('POST', `${ws}/destinations`, {
      name: 'hook',
      type: 'webhook',
      config: { url: `${sink.url}/before` },
    });
    destinationId = destination.id;
    await api('POST', `${ws}/connections`, { sourceId: source.id, destinationId });
    dataplaneToken = (await api('POST', `/v1/tenants/${tenant.tenantId}/dataplane-tokens`, { name: 'dp' }))
      .token;
  });
  afterAll(async () => {
    await plane?.stop();
    await sink.close();
    await t.stop();
    await schema.drop();
  });

  test('applies a destination change within 2 s under load, without losing or duplicating events', async () => {
    plane = await startPlane();
    const gateway = plane.gatewayUrl!;
    const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    const acknowledged: string[] = [];
    let stop = false;
    let seq = 0;
    const send = async (): Promise<void> => {
      while (!stop) {
        const batch = Array.from({ length: 20 }, () => {
          const n = seq++;
          return {
            type: 'track',
            event: 'Tick',
            userId: `user-${n % 50}`,
            messageId: `m-${n}`,
            properties: { n },
          };
        });
        const res = await fetch(`${gateway}/v1/batch`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        if (res.status === 200) acknowledged.push(...batch.map((e) => e.messageId));
        await res.arrayBuffer();
      }
    };
    const senders = Promise.all([send(), send(), send()]);
    await waitFor('events to reach the first URL', () => sink.received.some((r) => r.path === '/before'), {
      timeoutMs: 10_000,
    });

    const applied = new Promise<number>((resolve) =>
      plane!.config.on('change', (config) => {
        const url = config.workspaces[0]?.destinations[0]?.config['url'];
        if (url === `${sink.url}/after`) resolve(Date.now());
      }),
    );
    const changedAt = Date.now();
    await api('PATCH', `${ws}/destinations/${destinationId}`, { config: { url: `${sink.url}/after` } });
    const ackedAtChange = acknowledged.length;
    const appliedAt = await applied;
    // Keep the load on well past the switch, so events are in flight on both sides of it.
    await waitFor(
      'load to continue after the change',
      () => sink.received.some((r) => r.path === '/after') && acknowledged.length >= ackedAtChange + 1_000,
      { timeoutMs: 20_000 },
    );
    stop = true;
    await senders;

    expect(appliedAt - changedAt).toBeLessThan(2_000);
    await waitFor('every acknowledged event to arrive', () => sink.events().length >= acknowledged.length, {
      timeoutMs: 30_000,
    });
    const delivered = sink.events().map((e) => (e as { messageId: string }).messageId);
    expect(new Set(delivered).size).toBe(delivered.length); // no duplicates
    expect(new Set(delivered)).toEqual(new Set(acknowledged)); // nothing lost, nothing extra
    expect(ackedAtChange).toBeGreaterThan(0);
  });

  test('with the control plane down, a restarted data plane runs on its cached config', async () => {
    await plane!.stop();
    plane = undefined;
    await t.cp.stop();
    sink.clear();

    plane = await startPlane();
    const res = await fetch(`${plane.gatewayUrl!}/v1/track`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ type: 'track', event: 'Offline', userId: 'u1', messageId: 'offline-1' }),
    });
    expect(res.status).toBe(200);
    const [event] = await sink.waitForEvents(1, 10_000);
    expect(event).toMatchObject({ messageId: 'offline-1' });
    expect(sink.received.at(-1)?.path).toBe('/after');
  });
});
