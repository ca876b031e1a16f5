import { RudderError, destinationSchema } from '@rudder/common';
import {
  catalog,
  destinationTypes,
  getDestinationType,
  parseDestinationConfig,
  resolveDelivery,
} from './registry.ts';

const rudderError = (fn: () => unknown): RudderError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof RudderError) return err;
    throw err;
  }
  throw new Error('expected a RudderError');
};

describe('destination registry', () => {
  it('holds the webhook and Amplitude types under their keys', () => {
    expect([...destinationTypes.keys()].sort()).toEqual(['amplitude', 'webhook']);
    expect(getDestinationType('amplitude').displayName).toBe('Amplitude');
  });

  it('answers an unknown type with invalid_request, listing the known ones', () => {
    const err = rudderError(() => getDestinationType('mixpanel'));
    expect(err).toMatchObject({
      code: 'invalid_request',
      status: 400,
      details: { type: 'mixpanel', known: ['webhook', 'amplitude'] },
    });
  });

  it('parses a config with its defaults, typed by the literal type', () => {
    const webhook = parseDestinationConfig('webhook', { url: 'https://example.com/in' });
    expect(webhook.method).toBe('POST');
    const amplitude = parseDestinationConfig('amplitude', { apiKey: 'k' });
    expect(amplitude).toEqual({ apiKey: 'k', dataResidency: 'us', defaultGroupType: 'group' });
  });

  it('names the bad field of an invalid config', () => {
    const err = rudderError(() =>
      parseDestinationConfig('amplitude', { apiKey: 'k', dataResidency: 'asia' }),
    );
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('dataResidency');
    expect(err.details).toMatchObject({ field: 'dataResidency' });
    const missing = rudderError(() => parseDestinationConfig('webhook', {}));
    expect(missing.details).toMatchObject({ field: 'url' });
    expect(rudderError(() => parseDestinationConfig('webhook', 'nope')).details).toMatchObject({
      field: '(config)',
    });
  });

  it('describes every type as JSON, with the config as JSON Schema', () => {
    const entries = catalog();
    expect(JSON.parse(JSON.stringify(entries))).toEqual(entries);
    const amplitude = entries.find((e) => e.type === 'amplitude')!;
    expect(amplitude.supportedMessageTypes).toEqual(['track', 'identify', 'page', 'screen', 'group']);
    expect(amplitude.delivery.maxBatchSize).toBe(2000);
    expect(amplitude.configSchema).toMatchObject({
      type: 'object',
      required: ['apiKey'],
      properties: { dataResidency: { enum: ['us', 'eu'], default: 'us' } },
    });
    const webhook = entries.find((e) => e.type === 'webhook')!;
    expect(webhook.configSchema).toMatchObject({
      required: ['url'],
      properties: { url: { type: 'string', format: 'uri' } },
    });
  });
});

describe('resolveDelivery', () => {
  const destination = (raw: Record<string, unknown>) => destinationSchema.parse({ id: 'd1', ...raw });

  it("starts from the type's defaults", () => {
    expect(resolveDelivery(destination({ type: 'amplitude', config: { apiKey: 'k' } }))).toEqual({
      maxBatchSize: 2000,
      maxBatchBytes: expect.any(Number) as unknown,
      concurrency: 4,
      timeoutMs: 30_000,
    });
  });

  it('batches a webhook only when its config turns batching on', () => {
    expect(
      resolveDelivery(destination({ type: 'webhook', config: { url: 'https://e.com' } })).maxBatchSize,
    ).toBe(1);
    const batched = destination({
      type: 'webhook',
      config: { url: 'https://e.com', batching: true, maxBatchSize: 50 },
    });
    expect(resolveDelivery(batched).maxBatchSize).toBe(50);
  });

  it("applies the destination's overrides, but never a batch larger than the type can send", () => {
    const d = destination({
      type: 'amplitude',
      config: { apiKey: 'k' },
      delivery: { concurrency: 2, rateLimitPerSecond: 100, timeoutMs: 5000, maxBatchSize: 5000 },
    });
    expect(resolveDelivery(d)).toMatchObject({
      concurrency: 2,
      rateLimitPerSecond: 100,
      timeoutMs: 5000,
      maxBatchSize: 2000,
    });
    const smaller = destination({
      type: 'amplitude',
      config: { apiKey: 'k' },
      delivery: { maxBatchSize: 10 },
    });
    expect(resolveDelivery(smaller).maxBatchSize).toBe(10);
  });

  it('refuses a destination whose config is invalid', () => {
    expect(() => resolveDelivery(destination({ type: 'amplitude', config: {} }))).toThrow(RudderError);
  });
});
