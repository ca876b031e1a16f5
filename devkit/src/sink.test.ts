import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { startSink, eventsOf, type Sink } from './sink.ts';
import { waitFor } from './wait.ts';

let sink: Sink | undefined;
afterEach(async () => {
  await sink?.close();
  sink = undefined;
});

async function send(
  url: string,
  body: unknown,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

/** A `random()` that returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe('webhook sink', () => {
  it('accepts any path and method, answers 200 {ok:true} and records the request', async () => {
    sink = await startSink();
    const a = await send(`${sink.url}/hooks/a?x=1`, { type: 'track', event: 'A', userId: 'u1' });
    const b = await send(`${sink.url}/b`, { type: 'identify', userId: 'u2' }, { method: 'PUT' });
    const c = await send(`${sink.url}/c`, { type: 'page', userId: 'u3' }, { method: 'PATCH' });
    const d = await fetch(`${sink.url}/d`);

    expect([a.status, b.status, c.status, d.status]).toEqual([200, 200, 200, 200]);
    expect(a.json).toEqual({ ok: true });
    expect(sink.received.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/hooks/a?x=1'],
      ['PUT', '/b'],
      ['PATCH', '/c'],
      ['GET', '/d'],
    ]);
    expect(sink.received[0]!.headers['content-type']).toBe('application/json');
    expect(sink.received[0]!.body).toEqual({ type: 'track', event: 'A', userId: 'u1' });
    expect(sink.received[3]!.body).toBeNull();
    expect(typeof sink.received[0]!.at).toBe('number');
  });

  it('flattens batch and array bodies into events and counts them', async () => {
    sink = await startSink();
    await send(sink.url, { batch: [{ event: 'a' }, { event: 'b' }] });
    await send(sink.url, { event: 'c' });
    await send(sink.url, [{ event: 'd' }, { event: 'e' }]);

    expect(sink.events()).toEqual([
      { event: 'a' },
      { event: 'b' },
      { event: 'c' },
      { event: 'd' },
      { event: 'e' },
    ]);
    expect(sink.count).toBe(5);
  });

  it('keeps non-JSON bodies as text and undoes gzip', async () => {
    sink = await startSink();
    await send(sink.url, 'not json', { headers: { 'content-type': 'text/plain' } });
    await send(sink.url, gzipSync(JSON.stringify({ event: 'zipped' })), {
      headers: { 'content-encoding': 'gzip' },
    });

    expect(sink.received.map((r) => r.body)).toEqual(['not json', { event: 'zipped' }]);
    expect(sink.events()).toEqual([{ event: 'zipped' }]);
  });

  it('lists what it received on GET /_events and forgets it on DELETE /_events', async () => {
    sink = await startSink();
    for (let i = 0; i < 5; i++) await send(sink.url, { event: `e${i}` });

    const all = (await (await fetch(`${sink.url}/_events`)).json()) as { count: number; events: unknown[] };
    const last2 = (await (await fetch(`${sink.url}/_events?limit=2`)).json()) as { events: unknown[] };
    expect(all.count).toBe(5);
    expect(all.events).toHaveLength(5);
    expect(last2.events).toEqual([{ event: 'e3' }, { event: 'e4' }]);
    expect(sink.received).toHaveLength(5);

    expect((await fetch(`${sink.url}/_events`, { method: 'DELETE' })).status).toBe(200);
    expect(sink.count).toBe(0);
    expect(sink.received).toHaveLength(0);
  });

  it('fails the configured share of requests with 500 or 503 and does not record them', async () => {
    // 0.1 and 0.4 fall in the failure band [0, 0.5): lower half 500, upper half 503; 0.9 passes.
    sink = await startSink({ failureRate: 0.5, random: sequence(0.1, 0.4, 0.9) });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(sink.url, { event: `e${i}` })).status);

    expect(statuses).toEqual([500, 503, 200]);
    expect(sink.events()).toEqual([{ event: 'e2' }]);
    expect(sink.stats()).toMatchObject({ requests: 3, accepted: 1, failed: 2 });
  });

  it('answers the failing share with a fixed status when failStatus is set', async () => {
    sink = await startSink({ failureRate: 1, failStatus: 400 });
    expect((await send(sink.url, {})).status).toBe(400);
    sink.setFailure({ failStatus: 0 });
    expect((await send(sink.url, {})).status).toBeGreaterThanOrEqual(500);
    expect(() => sink!.setFailure({ failStatus: 200 })).toThrow(RangeError);
  });

  it('holds requests open so the client times out, and drops them on close', async () => {
    sink = await startSink({ timeoutRate: 1 });
    const timedOut = send(sink.url, { event: 'never' }).then(
      () => 'answered',
      () => 'failed',
    );
    await waitFor('the request to be held', () => sink!.stats().held === 1);

    const controller = new AbortController();
    const abandoned = fetch(sink.url, { method: 'POST', body: '{}', signal: controller.signal });
    await waitFor('the second request to be held', () => sink!.stats().held === 2);
    controller.abort();
    await expect(abandoned).rejects.toThrow();
    // The client gave up on the second one (as on a timeout): the sink lets go of it.
    await waitFor('the abandoned request to be released', () => sink!.stats().held === 1);

    const started = Date.now();
    await sink.close();
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(timedOut).resolves.toBe('failed');
    expect(sink.count).toBe(0);
  });

  it('changes failure rates at run time, also over HTTP, and rejects rates outside 0..1', async () => {
    sink = await startSink();
    sink.setFailure({ failureRate: 1 });
    expect((await send(sink.url, {})).status).toBeGreaterThanOrEqual(500);

    const set = await fetch(`${sink.url}/_failure?failureRate=0`, { method: 'POST' });
    expect(set.status).toBe(200);
    expect((await send(sink.url, {})).status).toBe(200);

    expect(() => sink!.setFailure({ failureRate: 1.5 })).toThrow(RangeError);
    expect(() => sink!.setFailure({ failureRate: 0.6, timeoutRate: 0.6 })).toThrow(RangeError);
    expect((await fetch(`${sink.url}/_failure?timeoutRate=-1`, { method: 'POST' })).status).toBe(400);
    expect((await send(sink.url, {})).status).toBe(200);
  });

  it('waitForEvents resolves once enough events arrived and rejects at the deadline', async () => {
    sink = await startSink();
    const waiting = sink.waitForEvents(3, 5000);
    await send(sink.url, { batch: [{ event: 'a' }, { event: 'b' }] });
    await send(sink.url, { event: 'c' });
    await expect(waiting).resolves.toHaveLength(3);

    await expect(sink.waitForEvents(10, 50)).rejects.toThrow(/3 of 10 events/);
  });

  it('serves many requests over one kept-alive connection', async () => {
    sink = await startSink();
    const agent = new Agent({ connections: 1, pipelining: 1 });
    try {
      for (let i = 0; i < 50; i++) {
        const res = await request(sink.url, {
          method: 'POST',
          body: JSON.stringify({ event: `e${i}` }),
          dispatcher: agent,
        });
        await res.body.dump();
      }
    } finally {
      await agent.close();
    }
    expect(sink.count).toBe(50);
    expect(sink.stats().connections).toBe(1);
  });

  it('refuses to start on a port that is taken', async () => {
    sink = await startSink();
    await expect(startSink({ port: sink.port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('eventsOf', () => {
  it('reads batch, array and single-event bodies, and nothing from scalars', () => {
    expect(eventsOf({ batch: [1, 2] })).toEqual([1, 2]);
    expect(eventsOf([3])).toEqual([3]);
    expect(eventsOf({ event: 'x' })).toEqual([{ event: 'x' }]);
    expect(eventsOf('text')).toEqual([]);
    expect(eventsOf(null)).toEqual([]);
  });
});
