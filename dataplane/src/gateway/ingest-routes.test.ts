import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { partitionOf } from '@rudder/common';
import {
  JSON_HEADERS as json,
  TEST_NOW as NOW,
  TEST_WRITE_KEY as WRITE_KEY,
  testGateway,
} from './testing.ts';
import { rudderIdOf } from './rudder-id.ts';

let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
});

describe('single-event endpoints', () => {
  it('stores a track event as one enriched, partitioned job and answers OK after the commit', async () => {
    const g = testGateway();
    app = g.app;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...json, 'x-forwarded-for': '203.0.113.7, 10.0.0.1' },
      payload: {
        userId: 'u1',
        event: 'Signed Up',
        properties: { plan: 'pro' },
        timestamp: '2024-05-01T12:00:00.000Z',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('OK');
    expect(g.store.writes).toHaveLength(1);
    const write = g.store.writes[0]!;
    expect(write.dedupWindowSeconds).toBe(600);
    expect(write.jobs).toHaveLength(1);
    const job = write.jobs[0]!;
    expect(job).toMatchObject({
      partitionId: partitionOf('u1', 64),
      workspaceId: 'ws-1',
      sourceId: 'src-1',
      userKey: 'u1',
      receivedAt: NOW,
    });
    expect(job.messageId).toBe(job.event.messageId);
    expect(job.event.rudderId).toBe(rudderIdOf('u1'));
    expect(job.event).toMatchObject({
      type: 'track',
      event: 'Signed Up',
      properties: { plan: 'pro' },
      receivedAt: NOW.toISOString(),
      request_ip: '203.0.113.7',
      originalTimestamp: '2024-05-01T12:00:00.000Z',
      timestamp: '2024-05-01T12:00:00.000Z',
    });
  });

  it.each(['identify', 'page', 'screen', 'group', 'alias'])(
    'stores /v1/%s with the type from the path',
    async (type) => {
      const g = testGateway();
      app = g.app;
      const res = await app.inject({
        method: 'POST',
        url: `/v1/${type}`,
        headers: json,
        payload: { type: 'track', anonymousId: 'a1' },
      });
      expect(res.statusCode).toBe(200);
      expect(g.store.events.map((e) => e.type)).toEqual([type]);
    },
  );

  it('accepts the write key in the body, and does not store it', async () => {
    const g = testGateway();
    app = g.app;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/track/',
      headers: { 'content-type': 'application/json' },
      payload: { writeKey: WRITE_KEY, userId: 'u1', event: 'E' },
    });
    expect(res.statusCode).toBe(200);
    expect(g.store.events[0]).not.toHaveProperty('writeKey');
  });

  it('lets the Basic auth key win over a body key', async () => {
    const g = testGateway();
    app = g.app;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: json,
      payload: { writeKey: 'bogus-key', userId: 'u1' },
    });
    expect(res.statusCode).toBe(200);
    expect(g.store.writes[0]!.jobs[0]!.sourceId).toBe('src-1');
  });

  it('takes any content type, or none', async () => {
    const g = testGateway();
    app = g.app;
    const body = JSON.stringify({ userId: 'u1', event: 'E' });
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      {},
    ]) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/track',
        headers: { authorization: json.authorization, ...headers },
        payload: body,
      });
      expect(res.statusCode).toBe(200);
    }
    expect(g.store.writes).toHaveLength(3);
  });

  it('uses the socket address for request_ip when X-Forwarded-For is not trusted', async () => {
    const g = testGateway({ trustForwardedFor: false });
    app = g.app;
    await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...json, 'x-forwarded-for': '203.0.113.7' },
      payload: { userId: 'u1' },
    });
    expect(g.store.events[0]!.request_ip).toBe('127.0.0.1');
  });
});

describe('batch endpoints', () => {
  it.each(['/v1/batch', '/v1/import'])(
    'stores every event of %s in one write, envelope defaults merged',
    async (url) => {
      const g = testGateway();
      app = g.app;
      const res = await app.inject({
        method: 'POST',
        url,
        headers: json,
        payload: {
          context: { library: { name: 'analytics-node', version: '3.1.0' } },
          sentAt: '2024-05-01T13:00:07.000Z',
          batch: [
            { type: 'track', event: 'A', userId: 'u1', timestamp: '2024-05-01T13:00:04.000Z' },
            { type: 'identify', anonymousId: 'a2', traits: { name: 'x' } },
          ],
        },
      });
      expect(res.statusCode).toBe(200);
      expect(g.store.writes).toHaveLength(1);
      const [first, second] = g.store.events;
      expect(first).toMatchObject({
        context: { library: { name: 'analytics-node' } },
        timestamp: '2024-05-01T12:00:07.000Z',
      });
      expect(second).toMatchObject({
        type: 'identify',
        context: { library: { name: 'analytics-node' } },
        sentAt: '2024-05-01T13:00:07.000Z',
      });
      expect(g.store.writes[0]!.jobs.map((j) => j.userKey)).toEqual(['u1', 'a2']);
    },
  );

  it('decompresses a gzip batch', async () => {
    const g = testGateway();
    app = g.app;
    const body = gzipSync(JSON.stringify({ batch: [{ type: 'track', event: 'A', userId: 'u1' }] }));
    const res = await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { ...json, 'content-encoding': 'gzip' },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    expect(g.store.events).toHaveLength(1);
  });

  it('takes a beacon batch as text/plain with the write key in the query', async () => {
    const g = testGateway();
    app = g.app;
    const res = await app.inject({
      method: 'POST',
      url: `/beacon/v1/batch?writeKey=${WRITE_KEY}`,
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      payload: JSON.stringify({ batch: [{ type: 'page', anonymousId: 'a1', name: 'Home' }] }),
    });
    expect(res.statusCode).toBe(200);
    expect(g.store.events[0]).toMatchObject({ type: 'page', name: 'Home' });
  });
});
