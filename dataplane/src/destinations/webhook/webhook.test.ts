import type { RudderEvent } from '@rudder/common';
import { webhookConfigSchema, type WebhookConfig } from './config.ts';
import { USER_AGENT, webhookDestination as webhook } from './webhook.ts';

const config = (raw: Record<string, unknown>): WebhookConfig => webhookConfigSchema.parse(raw);

const event = (overrides: Partial<RudderEvent> = {}): RudderEvent => ({
  type: 'track',
  messageId: 'm-1',
  userId: 'user-1',
  event: 'Order Completed',
  properties: { total: 12.5, coupon: 'SPRING', items: [{ sku: 'a' }] },
  timestamp: '2026-01-02T03:04:05.000Z',
  receivedAt: '2026-01-02T03:04:06.000Z',
  request_ip: '203.0.113.9',
  rudderId: 'r-1',
  ...overrides,
});

describe('webhook config', () => {
  it('defaults to unbatched POST without extra headers', () => {
    expect(config({ url: 'https://example.com/hook' })).toEqual({
      url: 'https://example.com/hook',
      method: 'POST',
      headers: {},
      batching: false,
      maxBatchSize: 100,
    });
  });

  it.each([
    [{}, 'url'],
    [{ url: 'ftp://example.com/x' }, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: 'https://e.com', method: 'DELETE' }, 'method'],
    [{ url: 'https://e.com', headers: { 'x-a': 'line\r\nInjected: 1' } }, 'headers.x-a'],
    [{ url: 'https://e.com', headers: { 'bad name': 'v' } }, 'headers.bad name'],
    [{ url: 'https://e.com', maxBatchSize: 0 }, 'maxBatchSize'],
    [{ url: 'https://e.com', method: 'GET', batching: true }, 'batching'],
  ])('rejects %j at %s', (raw, field) => {
    const result = webhookConfigSchema.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(field);
  });
});

describe('webhook destination', () => {
  it('passes every event through unchanged, whatever its type', () => {
    for (const type of webhook.supportedMessageTypes) {
      const e = event({ type });
      expect(webhook.transform(e, config({ url: 'https://e.com' }))).toEqual([e]);
    }
    expect(webhook.supportedMessageTypes).toHaveLength(6);
  });

  it('sends one request per event with the event as JSON body when unbatched', () => {
    const c = config({ url: 'https://example.com/hook', headers: { Authorization: 'Bearer s3cret' } });
    const requests = webhook.buildRequests([event(), event({ messageId: 'm-2' })], c);
    expect(requests).toHaveLength(2);
    expect(requests[0]).toEqual({
      method: 'POST',
      url: 'https://example.com/hook',
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        authorization: 'Bearer s3cret',
      },
      body: JSON.stringify(event()),
    });
    expect(JSON.parse(requests[1]!.body!)).toMatchObject({ messageId: 'm-2' });
  });

  it('wraps a batch in {"batch": [...]} in one request, in order', () => {
    const c = config({ url: 'https://example.com/hook', method: 'PUT', batching: true });
    const requests = webhook.buildRequests([event(), event({ messageId: 'm-2' })], c);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.method).toBe('PUT');
    expect(JSON.parse(requests[0]!.body!)).toEqual({ batch: [event(), event({ messageId: 'm-2' })] });
  });

  it('lets configured headers replace the defaults without duplicating them, but keeps the JSON content type', () => {
    const c = config({
      url: 'https://e.com',
      headers: { 'User-Agent': 'mine', 'Content-Type': 'text/plain' },
    });
    expect(webhook.buildRequests([event()], c)[0]!.headers).toEqual({
      'user-agent': 'mine',
      'content-type': 'application/json',
    });
  });

  it('turns an event into query parameters for GET, keeping the configured query', () => {
    const c = config({ url: 'https://example.com/hook?token=abc', method: 'GET' });
    const [request] = webhook.buildRequests([event()], c);
    expect(request!.body).toBeUndefined();
    expect(request!.headers).toEqual({ 'user-agent': USER_AGENT });
    const query = Object.fromEntries(new URL(request!.url).searchParams);
    expect(query).toMatchObject({
      token: 'abc',
      type: 'track',
      event: 'Order Completed',
      userId: 'user-1',
      total: '12.5',
      coupon: 'SPRING',
    });
    // Nested values have no faithful query form and are left out.
    expect(query).not.toHaveProperty('items');
    expect(query).not.toHaveProperty('properties');
  });

  it('batches only when the config asks for it', () => {
    expect(webhook.deliveryFor?.(config({ url: 'https://e.com' }))).toEqual({ maxBatchSize: 1 });
    expect(webhook.deliveryFor?.(config({ url: 'https://e.com', batching: true, maxBatchSize: 25 }))).toEqual(
      { maxBatchSize: 25 },
    );
  });
});
