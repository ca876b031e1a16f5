import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { startTestPlane, WRITE_KEY, type TestPlane } from './support/in-process.ts';

let t: TestPlane;
beforeEach(async () => {
  t = await startTestPlane();
});
afterEach(async () => {
  await t.close();
});

type Delivered = {
  type: string;
  userId?: string;
  event?: string;
  messageId: string;
  properties?: { n?: number };
};

it('delivers events from the published Segment Node SDK, used as documented with host pointed at the gateway', async () => {
  const analytics = new SegmentAnalytics({
    writeKey: WRITE_KEY,
    host: t.plane.gatewayUrl!,
    flushAt: 5,
    maxRetries: 0,
  });
  const errors: unknown[] = [];
  analytics.on('error', (err) => errors.push(err));
  for (let n = 0; n < 12; n++)
    analytics.track({ userId: 'seg-user', event: 'Order Completed', properties: { n } });
  analytics.identify({ userId: 'seg-user', traits: { plan: 'pro' } });
  await analytics.closeAndFlush({ timeout: 10_000 });
  expect(errors).toEqual([]);
  await t.sink.waitForEvents(13, 15_000);
  const events = t.sink.events() as Delivered[];
  const tracks = events.filter((e) => e.type === 'track');
  expect(tracks.map((e) => e.properties?.n)).toEqual([...Array(12).keys()]);
  expect(events.find((e) => e.type === 'identify')).toMatchObject({
    userId: 'seg-user',
    traits: { plan: 'pro' },
  });
  expect(new Set(events.map((e) => e.messageId)).size).toBe(13);
});

it('delivers gzipped batches from the published RudderStack Node SDK, used as documented with dataPlaneUrl', async () => {
  const client = new RudderAnalytics(WRITE_KEY, {
    dataPlaneUrl: t.plane.gatewayUrl!,
    flushAt: 4,
    logLevel: 'error',
  });
  for (let n = 0; n < 10; n++)
    client.track({ userId: 'rs-user', event: 'Product Viewed', properties: { n } });
  client.page({ anonymousId: 'anon-1', name: 'Home' });
  await new Promise<void>((resolve, reject) =>
    client.flush((err?: unknown) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
    ),
  );
  await t.sink.waitForEvents(11, 15_000);
  const events = t.sink.events() as Delivered[];
  expect(events.filter((e) => e.type === 'track').map((e) => e.properties?.n)).toEqual([...Array(10).keys()]);
  expect(events.find((e) => e.type === 'page')).toMatchObject({ anonymousId: 'anon-1', name: 'Home' });
});
