import type { AddressInfo } from 'node:net';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createLogger } from '@rudder/common';
import { waitFor } from '@rudder/devkit';
import { CORPUS_LIMITS } from './corpus.ts';
import { createGatewayServer } from './server.ts';
import { RecordingStore, staticSources } from './testing.ts';

// The published SDKs, unchanged, against a listening gateway: what real clients send must be accepted.
const WRITE_KEY = 'sdk-test-write-key';
let app: FastifyInstance;
let store: RecordingStore;
let url: string;

beforeEach(async () => {
  store = new RecordingStore();
  app = createGatewayServer({
    config: { limits: CORPUS_LIMITS, partitions: 64 },
    store,
    sources: staticSources([{ id: 'sdk-source', writeKey: WRITE_KEY }]),
    logger: createLogger('gateway-sdk-test', { level: 'silent' }),
    metrics: new Registry(),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await app.close();
});

it('accepts a gzipped batch from the RudderStack Node SDK', async () => {
  const client = new RudderAnalytics(WRITE_KEY, {
    dataPlaneUrl: url,
    flushAt: 3,
    flushInterval: 60_000,
    logLevel: 'error',
    retryCount: 0,
  });
  client.identify({ userId: 'u1', traits: { plan: 'pro' } });
  client.track({ userId: 'u1', event: 'Order Completed', properties: { revenue: 12.5 } });
  client.page({ anonymousId: 'a1', name: 'Home' });
  await client.flush();
  await waitFor('3 stored events', () => store.events.length === 3);
  expect(store.events.map((e) => e.type)).toEqual(['identify', 'track', 'page']);
  for (const event of store.events) {
    expect(event.context).toMatchObject({ library: { name: 'analytics-node' } });
    expect(event.originalTimestamp).toEqual(expect.any(String));
    expect(event.request_ip).toBe('127.0.0.1');
  }
});

it('accepts a batch from the Segment Node SDK', async () => {
  const client = new SegmentAnalytics({ writeKey: WRITE_KEY, host: url, flushAt: 2, maxRetries: 0 });
  client.track({ userId: 'u1', event: 'Signed Up', properties: { plan: 'pro' } });
  client.group({ userId: 'u1', groupId: 'g1', traits: { name: 'Acme' } });
  await client.closeAndFlush({ timeout: 10_000 });
  await waitFor('2 stored events', () => store.events.length === 2);
  expect(store.events.map((e) => e.type)).toEqual(['track', 'group']);
  expect(store.events[0]).toMatchObject({
    event: 'Signed Up',
    context: { library: { name: '@segment/analytics-node' } },
  });
  expect(store.events[1]).toMatchObject({ groupId: 'g1' });
});
