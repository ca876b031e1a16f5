import type { MessageType, RudderEvent } from '@rudder/common';
import { startMockAmplitude, type MockAmplitude } from '../../../test/support/mock-amplitude.ts';
import { HttpClient } from '../../router/http-client.ts';
import { classifyFor } from '../../router/retry-policy.ts';
import type { DeliveryResponse } from '../contract.ts';
import { amplitudeDestination as amplitude, classifyAmplitudeResponse } from './amplitude.ts';
import { AMPLITUDE_ENDPOINTS, amplitudeConfigSchema, type AmplitudeConfig } from './config.ts';

const config = (raw: Record<string, unknown> = {}): AmplitudeConfig =>
  amplitudeConfigSchema.parse({ apiKey: 'key-1', ...raw });

const event = (i: number, overrides: Partial<RudderEvent> = {}): RudderEvent => ({
  type: 'track',
  messageId: `msg-${i}`,
  userId: `user-${1000 + i}`,
  event: 'Clicked',
  properties: { i },
  timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  receivedAt: '2026-01-01T00:00:00.000Z',
  request_ip: '203.0.113.9',
  rudderId: 'r',
  ...overrides,
});

const reply = (status: number, body = ''): DeliveryResponse => ({
  kind: 'response',
  status,
  headers: {},
  body,
});

describe('Amplitude requests', () => {
  it('posts {api_key, events} as JSON to the US endpoint by default', () => {
    const items = [event(1), event(2)].flatMap((e) => amplitude.transform(e, config()));
    const [request, ...rest] = amplitude.buildRequests(items, config());
    expect(rest).toEqual([]);
    expect(request).toMatchObject({
      method: 'POST',
      url: AMPLITUDE_ENDPOINTS.us,
      headers: { 'content-type': 'application/json' },
    });
    expect(JSON.parse(request!.body!)).toEqual({ api_key: 'key-1', events: items });
  });

  it('uses the EU endpoint for EU residency and sends min_id_length when configured', () => {
    const [request] = amplitude.buildRequests(
      [{ event_type: 'x' }],
      config({ dataResidency: 'eu', minIdLength: 1 }),
    );
    expect(request!.url).toBe('https://api.eu.amplitude.com/2/httpapi');
    expect(JSON.parse(request!.body!)).toMatchObject({ options: { min_id_length: 1 } });
  });

  it('splits a batch over 2000 events or 1 MB into several requests, in order', () => {
    const small = Array.from({ length: 4500 }, (_, i) => ({ event_type: 'x', insert_id: `i${i}` }));
    const requests = amplitude.buildRequests(small, config());
    const sizes = requests.map((r) => (JSON.parse(r.body!) as { events: unknown[] }).events.length);
    expect(sizes).toEqual([2000, 2000, 500]);
    const large = Array.from({ length: 5 }, (_, i) => ({
      event_type: 'x',
      insert_id: `i${i}`,
      event_properties: { blob: 'y'.repeat(300_000) },
    }));
    const bigRequests = amplitude.buildRequests(large, config());
    expect(bigRequests.length).toBe(2);
    for (const r of bigRequests) expect(Buffer.byteLength(r.body!)).toBeLessThanOrEqual(1_000_000);
    const order = bigRequests.flatMap((r) =>
      (JSON.parse(r.body!) as { events: { insert_id: string }[] }).events.map((e) => e.insert_id),
    );
    expect(order).toEqual(['i0', 'i1', 'i2', 'i3', 'i4']);
  });

  it('does not support alias', () => {
    expect(amplitude.supportedMessageTypes).not.toContain('alias' satisfies MessageType);
  });
});

describe('Amplitude response classification', () => {
  it('splits on 413 and on a 400 that names the rejected events', () => {
    expect(classifyAmplitudeResponse(reply(413))).toBe('split');
    expect(
      classifyAmplitudeResponse(
        reply(400, JSON.stringify({ code: 400, events_with_invalid_fields: { time: [3] } })),
      ),
    ).toBe('split');
    expect(
      classifyAmplitudeResponse(
        reply(400, JSON.stringify({ code: 400, events_with_missing_fields: { event_type: [0] } })),
      ),
    ).toBe('split');
  });

  it('leaves other answers to the default policy', () => {
    expect(classifyFor(amplitude, reply(400, JSON.stringify({ code: 400, missing_field: 'api_key' })))).toBe(
      'abort',
    );
    expect(classifyFor(amplitude, reply(400, '<html>bad gateway</html>'))).toBe('abort');
    expect(classifyFor(amplitude, reply(400, JSON.stringify({ events_with_invalid_fields: {} })))).toBe(
      'abort',
    );
    expect(classifyFor(amplitude, reply(429))).toBe('retry');
    expect(classifyFor(amplitude, reply(503))).toBe('retry');
    expect(classifyFor(amplitude, reply(200, '{"code":200}'))).toBe('success');
    expect(classifyFor(amplitude, { kind: 'network-error', code: 'timeout', message: 't' })).toBe('retry');
  });
});

describe('Amplitude delivery against the mock', () => {
  let mock: MockAmplitude;
  let client: HttpClient;
  beforeAll(async () => {
    mock = await startMockAmplitude();
    client = new HttpClient();
  });
  afterAll(async () => {
    await client.close();
    await mock.close();
  });

  const deliver = async (events: RudderEvent[], c: AmplitudeConfig) => {
    const items = events.flatMap((e) => amplitude.transform(e, c));
    const outcomes = [];
    for (const request of amplitude.buildRequests(items, c)) {
      outcomes.push(classifyFor(amplitude, await client.send(request, 5000)));
    }
    return outcomes;
  };

  it('delivers every supported message type in a form Amplitude accepts', async () => {
    const c = config({ endpoint: mock.url });
    const types: MessageType[] = ['track', 'page', 'screen', 'identify', 'group'];
    const events = types.map((type, i) =>
      event(i, {
        type,
        name: 'Home',
        groupId: 'acme-co',
        traits: { name: 'Acme' },
        anonymousId: `anon-${1000 + i}`,
      }),
    );
    expect(await deliver(events, c)).toEqual(['success']);
    expect(mock.events.map((e) => e['event_type'])).toEqual([
      'Clicked',
      'Viewed Home Page',
      'Viewed Home Screen',
      '$identify',
      '$identify',
      '$groupidentify',
    ]);
  });

  it('retries a throttled request and ingests each event once', async () => {
    const c = config({ endpoint: mock.url });
    const before = mock.events.length;
    mock.failNext(1, 429);
    expect(await deliver([event(100), event(101)], c)).toEqual(['retry']);
    expect(await deliver([event(100), event(101)], c)).toEqual(['success']);
    expect(mock.events.length - before).toBe(2);
  });

  it('asks for a split when Amplitude rejects a batch for one bad event', async () => {
    const c = config({ endpoint: mock.url });
    const items = [...amplitude.transform(event(300), c), { user_id: 'user-0300', time: 1 }];
    const [request] = amplitude.buildRequests(items, c);
    expect(classifyFor(amplitude, await client.send(request!, 5000))).toBe('split');
  });

  it('gets short ids accepted through minIdLength', async () => {
    const c = config({ endpoint: mock.url, minIdLength: 1 });
    expect(await deliver([event(200, { userId: '7' })], c)).toEqual(['success']);
    expect(mock.events.at(-1)).toMatchObject({ user_id: '7' });
  });
});
