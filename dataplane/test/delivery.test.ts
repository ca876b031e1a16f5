import { waitFor, startSink } from '@rudder/devkit';
import { startMockAmplitude, type MockAmplitude } from './support/mock-amplitude.ts';
import { demoConfig, startTestPlane, WRITE_KEY, type TestPlane } from './support/in-process.ts';

let t: TestPlane;
afterEach(async () => {
  await t.close();
});

async function send(path: string, body: unknown): Promise<Response> {
  return fetch(`${t.plane.gatewayUrl}${path}`, {
    method: 'POST',
    headers: { authorization: t.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function admin(path: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(`${t.plane.adminUrl}${path}`, init);
  expect(res.status).toBe(200);
  return res.json();
}

type Failed = { id: number; stage: string; messageId: string; lastStatusCode: number; reason: string };

it('aborts events a destination refuses with a 4xx into the failed-events store, and re-drives them once fixed', async () => {
  t = await startTestPlane();
  t.sink.setFailure({ failureRate: 1, failStatus: 400 });
  expect((await send('/v1/track', { userId: 'u1', event: 'Refused', messageId: 'm-refused' })).status).toBe(
    200,
  );
  const failed = await waitFor('the refused event in the failed store', async () => {
    const page = (await admin('/admin/v1/failed-events')) as { events: Failed[] };
    return page.events.length === 1 ? page.events : undefined;
  });
  expect(failed[0]).toMatchObject({ stage: 'router', messageId: 'm-refused', lastStatusCode: 400 });
  expect(await admin(`/admin/v1/failed-events/${failed[0]!.id}`)).toMatchObject({ messageId: 'm-refused' });

  t.sink.setFailure({ failureRate: 0, failStatus: 0 });
  const report = await admin('/admin/v1/failed-events/redrive', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ids: [failed[0]!.id] }),
  });
  expect(report).toEqual({ redriven: [failed[0]!.id], refused: [] });
  await t.sink.waitForEvents(1, 10_000);
  expect(t.sink.events()).toEqual([expect.objectContaining({ messageId: 'm-refused' })]);
  expect(((await admin('/admin/v1/failed-events')) as { events: Failed[] }).events).toEqual([]);
});

it('retries a failing destination, then aborts once both the minimum attempts and the retry window are used up', async () => {
  t = await startTestPlane({ env: { ROUTER_MIN_ATTEMPTS: '3', ROUTER_RETRY_WINDOW_SECONDS: '0' } });
  t.sink.setFailure({ failureRate: 1, failStatus: 503 });
  expect((await send('/v1/track', { userId: 'u1', event: 'Doomed', messageId: 'm-doomed' })).status).toBe(
    200,
  );
  const failed = await waitFor('the event to be given up on', async () => {
    const page = (await admin('/admin/v1/failed-events')) as { events: (Failed & { attempts: number })[] };
    return page.events[0];
  });
  expect(failed).toMatchObject({ stage: 'router', messageId: 'm-doomed', lastStatusCode: 503, attempts: 3 });
  expect(failed.reason).toMatch(/^retries exhausted/);
  expect(t.sink.stats().failed).toBe(3);

  // The user is not blocked by the aborted event: the next one goes through once the destination heals.
  t.sink.setFailure({ failureRate: 0, failStatus: 0 });
  expect((await send('/v1/track', { userId: 'u1', event: 'Next', messageId: 'm-next' })).status).toBe(200);
  await t.sink.waitForEvents(1, 10_000);
  expect(t.sink.events()).toEqual([expect.objectContaining({ messageId: 'm-next' })]);
});

it('records events a transformation or mapping cannot handle as processing failures, not silently dropped', async () => {
  t = await startTestPlane({
    config: (url) =>
      demoConfig(url, {
        transformations: [{ id: 'tx', code: 'export function transformEvent(e) { return e; }' }],
        connections: [{ sourceId: 'src', destinationId: 'hook', transformationId: 'tx' }],
      }),
  });
  expect((await send('/v1/track', { userId: 'u1', event: 'E', messageId: 'm-tx' })).status).toBe(200);
  const failed = await waitFor('a processing failure', async () => {
    const page = (await admin('/admin/v1/failed-events?stage=processor')) as { events: Failed[] };
    return page.events[0];
  });
  expect(failed).toMatchObject({ messageId: 'm-tx', reason: expect.stringContaining('user transformation') });
});

it('applies an edited config file without a restart: new events go to the new destination URL', async () => {
  t = await startTestPlane();
  const other = await startSink();
  try {
    expect((await send('/v1/track', { userId: 'u1', event: 'Before' })).status).toBe(200);
    await t.sink.waitForEvents(1, 10_000);
    t.writeConfig(demoConfig(other.url));
    await waitFor('the new config', () => JSON.stringify(t.plane.config.config).includes(other.url));
    expect((await send('/v1/track', { userId: 'u1', event: 'After' })).status).toBe(200);
    await other.waitForEvents(1, 10_000);
    expect(other.events()).toEqual([expect.objectContaining({ event: 'After' })]);
    expect(t.sink.events()).toHaveLength(1);
  } finally {
    await other.close();
  }
});

it('filters events per destination by message type and event name', async () => {
  t = await startTestPlane({
    config: (url) =>
      demoConfig(url, {
        destinations: [
          {
            id: 'hook',
            type: 'webhook',
            config: { url: `${url}/hook` },
            eventFilter: { messageTypes: ['track'], denyEvents: ['Noise'] },
          },
        ],
      }),
  });
  const batch = [
    { type: 'track', userId: 'u', event: 'Noise' },
    { type: 'identify', userId: 'u', traits: {} },
    { type: 'track', userId: 'u', event: 'Signal' },
    { type: 'track', userId: 'u', event: 'Marker' },
  ];
  expect((await send('/v1/batch', { batch })).status).toBe(200);
  // One user's events arrive in order, so once the last one is in, a filtered-out one would have shown up before it.
  await t.sink.waitForEvents(2, 10_000);
  expect((t.sink.events() as { event?: string }[]).map((e) => e.event)).toEqual(['Signal', 'Marker']);
});

describe('Amplitude', () => {
  let amp: MockAmplitude;
  beforeEach(async () => {
    amp = await startMockAmplitude();
  });
  afterEach(async () => {
    await amp.close();
  });

  it('delivers in the documented HTTP V2 format, batched, and retries through a 429 in order', async () => {
    t = await startTestPlane({
      config: (url) =>
        demoConfig(url, {
          destinations: [
            { id: 'amp', type: 'amplitude', config: { apiKey: 'amp-key-123', endpoint: amp.url } },
          ],
          connections: [{ sourceId: 'src', destinationId: 'amp' }],
        }),
    });
    amp.failNext(2, 429, { retryAfterSeconds: 0 });
    const batch = Array.from({ length: 30 }, (_, n) => ({
      type: 'track',
      userId: 'amplitude-user',
      event: 'Step',
      properties: { n },
    }));
    expect((await send('/v1/batch', { batch, writeKey: WRITE_KEY })).status).toBe(200);
    await waitFor('30 events at Amplitude', () => amp.events.length >= 30, { timeoutMs: 15_000 });
    const events = amp.events as { user_id: string; event_type: string; event_properties: { n: number } }[];
    expect(events.map((e) => e.event_properties.n)).toEqual([...Array(30).keys()]);
    expect(events[0]).toMatchObject({ user_id: 'amplitude-user', event_type: 'Step' });
    expect(amp.requests.filter((r) => r.status === 200).length).toBeLessThan(30);
  });
});
