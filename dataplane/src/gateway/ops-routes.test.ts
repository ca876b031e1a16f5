import type { FastifyInstance } from 'fastify';
import { beginShutdown } from './readiness.ts';
import { JSON_HEADERS as json, testGateway } from './testing.ts';

let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
});

describe('probes and metrics', () => {
  it('is live from the start, and ready only with sources loaded and a healthy store, until shutdown begins', async () => {
    const g = testGateway();
    app = g.app;
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

    g.sources.ready = false;
    const unready = await app.inject({ method: 'GET', url: '/ready' });
    expect(unready.statusCode).toBe(503);
    expect(unready.json()).toMatchObject({ error: { code: 'unavailable' } });
    g.sources.ready = true;
    g.store.healthy = false;
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    g.store.healthy = true;
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);

    beginShutdown(app);
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(
      (await app.inject({ method: 'POST', url: '/v1/track', headers: json, payload: { userId: 'u1' } }))
        .statusCode,
    ).toBe(200);
  });

  it('counts requests by route and status, accepted events, latency and body bytes', async () => {
    const g = testGateway();
    app = g.app;
    await app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: json,
      payload: {
        batch: [
          { type: 'track', userId: 'u1' },
          { type: 'track', userId: 'u2' },
        ],
      },
    });
    await app.inject({ method: 'POST', url: '/v1/track', headers: json, payload: '{' });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('rudder_gateway_requests_total{route="/v1/batch",status="200"} 1');
    expect(res.body).toContain('rudder_gateway_requests_total{route="/v1/track",status="400"} 1');
    expect(res.body).toContain(
      'rudder_gateway_rejected_requests_total{route="/v1/track",code="invalid_json"} 1',
    );
    expect(res.body).toContain('rudder_gateway_events_total{outcome="stored"} 2');
    expect(res.body).toContain('rudder_gateway_request_duration_seconds_count{route="/v1/batch"} 1');
    expect(res.body).toMatch(/rudder_gateway_request_body_bytes_sum\{route="\/v1\/batch"\} \d+/);
  });
});
