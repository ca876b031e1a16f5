import { catalog } from '@rudder/dataplane/destinations';
import { startTestControlPlane, type TestControlPlane } from './support/harness.ts';

describe('destination catalog', () => {
  let t: TestControlPlane;
  beforeAll(async () => {
    t = await startTestControlPlane();
  });
  afterAll(async () => {
    await t.stop();
  });

  test("serves the data plane's own destination definitions", async () => {
    const res = await t.call('get', '/v1/catalog/destinations');
    expect(res.status).toBe(200);
    expect(res.body.destinations).toEqual(JSON.parse(JSON.stringify(catalog())));
    const webhook = res.body.destinations.find((d: { type: string }) => d.type === 'webhook');
    expect(webhook.configSchema.properties.url).toBeDefined();
    expect(webhook.supportedMessageTypes).toContain('track');
    expect(webhook.delivery.maxBatchSize).toBeGreaterThan(0);
  });

  test('serves one type, and 404 for an unknown one', async () => {
    expect((await t.call('get', '/v1/catalog/destinations/amplitude')).body.displayName).toBe('Amplitude');
    expect((await t.call('get', '/v1/catalog/destinations/nope')).status).toBe(404);
  });
});
