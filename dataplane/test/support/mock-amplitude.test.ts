import { gzipSync } from 'node:zlib';
import { startMockAmplitude, type MockAmplitude } from './mock-amplitude.ts';

const valid = (overrides: Record<string, unknown> = {}) => ({
  event_type: 'Signed Up',
  user_id: 'user-0001',
  time: 1767323045678,
  insert_id: 'ins-1',
  ...overrides,
});

describe('mock Amplitude', () => {
  let mock: MockAmplitude;
  beforeEach(async () => {
    mock = await startMockAmplitude();
  });
  afterEach(async () => {
    await mock.close();
  });

  const post = async (
    body: unknown,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => {
    const response = await fetch(mock.url, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('accepts a valid upload and answers like Amplitude', async () => {
    const upload = {
      api_key: 'k',
      events: [valid(), valid({ insert_id: 'ins-2', user_id: undefined, device_id: 'dev-00001' })],
    };
    const { status, body } = await post(upload);
    expect(status).toBe(200);
    expect(body).toEqual({
      code: 200,
      events_ingested: 2,
      payload_size_bytes: Buffer.byteLength(JSON.stringify(upload)),
      server_upload_time: expect.any(Number) as unknown,
    });
    expect(mock.events.map((e) => e['insert_id'])).toEqual(['ins-1', 'ins-2']);
    expect(mock.requests).toEqual([
      expect.objectContaining({ method: 'POST', path: '/2/httpapi', status: 200 }),
    ]);
  });

  it('ingests a repeated insert_id once, as Amplitude deduplicates', async () => {
    await post({ api_key: 'k', events: [valid()] });
    await post({ api_key: 'k', events: [valid(), valid({ insert_id: 'ins-2' })] });
    expect(mock.events.map((e) => e['insert_id'])).toEqual(['ins-1', 'ins-2']);
  });

  it('accepts a gzip-encoded body', async () => {
    const response = await fetch(mock.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ api_key: 'k', events: [valid()] })),
    });
    expect(response.status).toBe(200);
  });

  it.each([
    ['a missing api_key', { events: [valid()] }, { missing_field: 'api_key' }],
    ['missing events', { api_key: 'k' }, { missing_field: 'events' }],
    ['an empty events array', { api_key: 'k', events: [] }, { missing_field: 'events' }],
    [
      'a missing event_type',
      { api_key: 'k', events: [valid({ event_type: undefined })] },
      { events_with_missing_fields: { event_type: [0] } },
    ],
    [
      'no user or device id',
      { api_key: 'k', events: [valid(), valid({ user_id: undefined })] },
      { events_with_missing_fields: { 'user_id or device_id': [1] } },
    ],
    [
      'a short user_id',
      { api_key: 'k', events: [valid({ user_id: '42' })] },
      { events_with_invalid_fields: { user_id: [0] } },
    ],
    [
      'an all-zero device_id',
      { api_key: 'k', events: [valid({ device_id: '00000000-0000' })] },
      { events_with_invalid_fields: { device_id: [0] } },
    ],
    [
      'a time in seconds with a fraction',
      { api_key: 'k', events: [valid({ time: 1767323045.5 })] },
      { events_with_invalid_fields: { time: [0] } },
    ],
    [
      'a time as a string',
      { api_key: 'k', events: [valid({ time: '2026-01-01' })] },
      { events_with_invalid_fields: { time: [0] } },
    ],
    [
      'non-object event_properties',
      { api_key: 'k', events: [valid({ event_properties: [1] })] },
      { events_with_invalid_fields: { event_properties: [0] } },
    ],
    [
      'a reserved event_type',
      { api_key: 'k', events: [valid({ event_type: '[Amplitude] Revenue' })] },
      { events_with_invalid_fields: { event_type: [0] } },
    ],
  ])('answers 400 with the fields at fault for %s', async (_name, upload, expected) => {
    const { status, body } = await post(upload);
    expect(status).toBe(400);
    expect(body).toMatchObject({ code: 400, ...expected });
    expect(mock.events).toEqual([]);
  });

  it('lets options.min_id_length admit short ids', async () => {
    expect(
      (await post({ api_key: 'k', events: [valid({ user_id: '42' })], options: { min_id_length: 2 } }))
        .status,
    ).toBe(200);
    expect((await post({ api_key: 'k', events: [valid()], options: { min_id_length: 'x' } })).status).toBe(
      400,
    );
  });

  it('refuses bodies that are not JSON or not declared as JSON', async () => {
    expect(await post('{nope')).toMatchObject({ status: 400, body: { error: 'Invalid JSON request body' } });
    expect((await post({ api_key: 'k', events: [valid()] }, { 'content-type': 'text/plain' })).status).toBe(
      400,
    );
  });

  it('answers 413 above 2000 events or 1 MB', async () => {
    const many = Array.from({ length: 2001 }, (_, i) => valid({ insert_id: `i${i}` }));
    expect((await post({ api_key: 'k', events: many })).status).toBe(413);
    const big = valid({ event_properties: { blob: 'x'.repeat(1_000_001) } });
    expect(await post({ api_key: 'k', events: [big] })).toMatchObject({ status: 413, body: { code: 413 } });
    expect(mock.events).toEqual([]);
  });

  it('answers other paths with 404 and other methods with 405', async () => {
    expect((await fetch(mock.url.replace('/2/httpapi', '/httpapi'), { method: 'POST' })).status).toBe(404);
    expect((await fetch(mock.url)).status).toBe(405);
  });

  it('fails the next N requests with the given status, then recovers', async () => {
    mock.failNext(2, 429, { retryAfterSeconds: 7 });
    const first = await fetch(mock.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: 'k', events: [valid()] }),
    });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(await first.json()).toMatchObject({ code: 429, eps_threshold: 30 });
    expect((await post({ api_key: 'k', events: [valid()] })).status).toBe(429);
    expect((await post({ api_key: 'k', events: [valid()] })).status).toBe(200);
    mock.failNext(1, 503);
    expect(await post({ api_key: 'k', events: [valid()] })).toMatchObject({
      status: 503,
      body: { code: 503 },
    });
    expect(mock.requests.map((r) => r.status)).toEqual([429, 429, 200, 503]);
    expect(mock.events).toHaveLength(1);
  });
});
