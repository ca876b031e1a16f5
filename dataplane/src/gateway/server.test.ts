import type { FastifyInstance } from 'fastify';
import { RudderError } from '@rudder/common';
import { waitFor } from '@rudder/devkit';
import { CORPUS_LIMITS } from './corpus.ts';
import { JSON_HEADERS as json, TEST_WRITE_KEY as WRITE_KEY, testGateway } from './testing.ts';

let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
});

describe('store failures and acknowledgement', () => {
  it('answers 503 with Retry-After when the store is unavailable, and 500 without details otherwise', async () => {
    const g = testGateway();
    app = g.app;
    g.store.failure = new RudderError('unavailable', 'event store unavailable, retry later', {
      retryAfterSeconds: 3,
    });
    const unavailable = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: json,
      payload: { userId: 'u1' },
    });
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('3');
    expect(unavailable.json()).toEqual({
      error: { code: 'unavailable', message: 'event store unavailable, retry later' },
    });

    g.store.failure = new Error('connection terminated: password=hunter2');
    const broken = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: json,
      payload: { userId: 'u1' },
    });
    expect(broken.statusCode).toBe(500);
    expect(broken.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(g.store.writes).toHaveLength(0);
  });

  it('acknowledges a request only after the store commits it', async () => {
    const g = testGateway();
    app = g.app;
    const release = g.store.hold();
    let answered = false;
    const pending = app
      .inject({ method: 'POST', url: '/v1/track', headers: json, payload: { userId: 'u1' } })
      .then((res) => {
        answered = true;
        return res;
      });
    await waitFor('the store to be called', () => g.store.waiting > 0);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    expect(g.store.writes).toHaveLength(0);
    release();
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(g.store.writes).toHaveLength(1);
  });
});

describe('HTTP edges', () => {
  it('answers a CORS preflight for browser SDKs and caches it for a day', async () => {
    const g = testGateway();
    app = g.app;
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/v1/batch',
      headers: {
        origin: 'https://shop.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,anonymousid',
      },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const allowed = String(res.headers['access-control-allow-headers'])
      .split(',')
      .map((h) => h.trim().toLowerCase());
    expect(allowed).toEqual(['authorization', 'content-type', 'anonymousid']);
    expect(res.headers['access-control-max-age']).toBe('86400');

    const post = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...json, origin: 'https://shop.example.com' },
      payload: { userId: 'u1' },
    });
    expect(post.headers['access-control-allow-origin']).toBe('https://shop.example.com');
  });

  it('refuses a body whose Content-Length announces more than the limit, before reading it', async () => {
    const g = testGateway();
    app = g.app;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...json, 'content-length': String(CORPUS_LIMITS.maxRequestBytes + 1) },
      payload: '{"userId":"u1"}',
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(g.store.writes).toHaveLength(0);
  });

  it('answers malformed Content-Type and unknown routes with the JSON error body', async () => {
    const g = testGateway();
    app = g.app;
    const badType = await app.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { ...json, 'content-type': 'json' },
      payload: '{}',
    });
    expect(badType.statusCode).toBe(415);
    expect(badType.json()).toMatchObject({ error: { code: 'invalid_request' } });
    const missing = await app.inject({ method: 'POST', url: `/v2/track?writeKey=${WRITE_KEY}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'not_found', message: 'no route for POST /v2/track' } });
  });
});
