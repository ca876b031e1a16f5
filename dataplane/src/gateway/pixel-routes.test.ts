import type { FastifyInstance } from 'fastify';
import { RudderError } from '@rudder/common';
import { TEST_WRITE_KEY as WRITE_KEY, testGateway } from './testing.ts';

let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
});

describe('pixel endpoints', () => {
  it('stores a pixel track and answers a no-cache GIF', async () => {
    const g = testGateway();
    app = g.app;
    const res = await app.inject({
      method: 'GET',
      url: `/pixel/v1/track?writeKey=${WRITE_KEY}&anonymousId=a1&event=Email%20Opened&properties.campaign=spring`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.headers['cache-control']).toContain('no-store');
    expect(res.rawPayload.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(g.store.events[0]).toMatchObject({
      type: 'track',
      event: 'Email Opened',
      properties: { campaign: 'spring' },
      channel: 'web',
    });
    expect(g.store.events[0]).not.toHaveProperty('writeKey');
  });

  it.each([
    ['an unknown write key', '/pixel/v1/page?writeKey=nope&anonymousId=a1'],
    ['no write key', '/pixel/v1/page?anonymousId=a1'],
    ['no user', `/pixel/v1/page?writeKey=${WRITE_KEY}`],
    ['a track without event', `/pixel/v1/track?writeKey=${WRITE_KEY}&anonymousId=a1`],
    ['a prototype path', `/pixel/v1/track?writeKey=${WRITE_KEY}&anonymousId=a1&event=E&__proto__.x=1`],
  ])('answers the GIF but stores nothing for %s', async (_name, url) => {
    const g = testGateway();
    app = g.app;
    const res = await app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(g.store.writes).toHaveLength(0);
    expect(await g.registry.getSingleMetricAsString('rudder_gateway_rejected_requests_total')).toMatch(
      /route="\/pixel\/v1\/(page|track)"/,
    );
  });

  it('answers the GIF even when the store is down', async () => {
    const g = testGateway();
    app = g.app;
    g.store.failure = new RudderError('unavailable', 'down', { retryAfterSeconds: 2 });
    const res = await app.inject({
      method: 'GET',
      url: `/pixel/v1/page?writeKey=${WRITE_KEY}&anonymousId=a1`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
  });

  it('does not count HEAD requests from link checkers as events', async () => {
    const g = testGateway();
    app = g.app;
    const res = await app.inject({
      method: 'HEAD',
      url: `/pixel/v1/page?writeKey=${WRITE_KEY}&anonymousId=a1`,
    });
    expect(res.statusCode).toBe(404);
    expect(g.store.writes).toHaveLength(0);
  });
});
