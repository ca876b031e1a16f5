import type { RudderEvent } from '@rudder/common';
import { TransformError } from '../errors.ts';
import { amplitudeConfigSchema, type AmplitudeConfig } from './config.ts';
import { toAmplitudeEvents } from './transform.ts';

const config = (raw: Record<string, unknown> = {}): AmplitudeConfig =>
  amplitudeConfigSchema.parse({ apiKey: 'key-1', ...raw });

const TIMESTAMP = '2026-01-02T03:04:05.678Z';

const event = (overrides: Partial<RudderEvent> = {}): RudderEvent => ({
  type: 'track',
  messageId: 'msg-0001',
  userId: 'user-0001',
  anonymousId: 'anon-0001',
  event: 'Order Completed',
  properties: { revenue: 25, price: '12.50', quantity: 2, product_id: 'sku-1', currency: 'EUR' },
  timestamp: TIMESTAMP,
  receivedAt: TIMESTAMP,
  request_ip: '203.0.113.9',
  rudderId: 'r-1',
  ...overrides,
});

const thrown = (fn: () => unknown): TransformError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof TransformError) return err;
    throw err;
  }
  throw new Error('expected a TransformError');
};

describe('Amplitude mapping', () => {
  it('maps a track to an event named like it, with ids, time in ms, insert_id and revenue fields', () => {
    expect(toAmplitudeEvents(event(), config())).toEqual([
      {
        event_type: 'Order Completed',
        user_id: 'user-0001',
        device_id: 'anon-0001',
        time: Date.parse(TIMESTAMP),
        insert_id: 'msg-0001',
        ip: '203.0.113.9',
        event_properties: { revenue: 25, price: '12.50', quantity: 2, product_id: 'sku-1', currency: 'EUR' },
        revenue: 25,
        price: 12.5,
        quantity: 2,
        productId: 'sku-1',
      },
    ]);
  });

  it('takes device, OS, location, app, library and session facts from the context', () => {
    const context = {
      ip: '198.51.100.1',
      device: {
        id: 'device-42',
        type: 'ios',
        manufacturer: 'Apple',
        model: 'iPhone15,2',
        advertisingId: 'idfa-1',
      },
      os: { name: 'iOS', version: '17.2' },
      network: { carrier: 'T-Mobile' },
      location: { country: 'DE', city: 'Berlin', region: 'BE', latitude: 52.52, longitude: '13.40' },
      locale: 'de-DE',
      app: { version: '3.1.0' },
      library: { name: 'rudder-ios', version: '1.2.3' },
      sessionId: 1767323045000,
    };
    const [mapped] = toAmplitudeEvents(event({ context }), config());
    expect(mapped).toMatchObject({
      device_id: 'device-42',
      platform: 'ios',
      os_name: 'iOS',
      os_version: '17.2',
      device_manufacturer: 'Apple',
      device_model: 'iPhone15,2',
      carrier: 'T-Mobile',
      country: 'DE',
      city: 'Berlin',
      region: 'BE',
      location_lat: 52.52,
      location_lng: 13.4,
      language: 'de-DE',
      ip: '198.51.100.1',
      idfa: 'idfa-1',
      app_version: '3.1.0',
      library: 'rudder-ios/1.2.3',
      session_id: 1767323045000,
    });
    expect(mapped).not.toHaveProperty('adid');
  });

  it('sends the advertising id as adid on Android and ignores an all-zero device id', () => {
    const context = {
      device: { id: '00000000-0000-0000-0000-000000000000', advertisingId: 'gaid-1' },
      os: { name: 'Android' },
    };
    const [mapped] = toAmplitudeEvents(event({ context }), config());
    expect(mapped).toMatchObject({ adid: 'gaid-1', device_id: 'anon-0001' });
  });

  it('names pages and screens "Viewed <name> Page/Screen", or "Loaded a Page/Screen" without a name', () => {
    const c = config();
    expect(
      toAmplitudeEvents(
        event({ type: 'page', name: 'Pricing', properties: { url: 'https://e.com/p' } }),
        c,
      )[0],
    ).toMatchObject({
      event_type: 'Viewed Pricing Page',
      event_properties: { url: 'https://e.com/p' },
    });
    expect(toAmplitudeEvents(event({ type: 'page', properties: {} }), c)[0]!.event_type).toBe(
      'Loaded a Page',
    );
    expect(toAmplitudeEvents(event({ type: 'screen', name: 'Home' }), c)[0]!.event_type).toBe(
      'Viewed Home Screen',
    );
    expect(toAmplitudeEvents(event({ type: 'screen', properties: null }), c)[0]!.event_type).toBe(
      'Loaded a Screen',
    );
    expect(toAmplitudeEvents(event({ type: 'page', properties: { name: 'Docs' } }), c)[0]!.event_type).toBe(
      'Viewed Docs Page',
    );
  });

  it('marks web page views with the Web platform', () => {
    const [mapped] = toAmplitudeEvents(
      event({ type: 'page', context: { page: { url: 'https://e.com' } } }),
      config(),
    );
    expect(mapped!.platform).toBe('Web');
  });

  it('turns identify into $identify that $sets the traits', () => {
    const [mapped] = toAmplitudeEvents(
      event({ type: 'identify', traits: { email: 'a@example.com', plan: 'pro' } }),
      config(),
    );
    expect(mapped).toMatchObject({
      event_type: '$identify',
      user_properties: { $set: { email: 'a@example.com', plan: 'pro' } },
    });
    expect(mapped).not.toHaveProperty('revenue');
  });

  it('reads identify traits from context.traits when the event has none at top level', () => {
    const [mapped] = toAmplitudeEvents(
      event({ type: 'identify', context: { traits: { name: 'Ada' } } }),
      config(),
    );
    expect(mapped!.user_properties).toEqual({ $set: { name: 'Ada' } });
  });

  it('turns group into a membership $identify plus a $groupidentify with the group traits', () => {
    const e = event({
      type: 'group',
      groupId: 'acme-co',
      traits: { groupType: 'company', name: 'Acme', employees: 50 },
    });
    const [membership, groupIdentify, ...rest] = toAmplitudeEvents(e, config());
    expect(rest).toEqual([]);
    expect(membership).toMatchObject({
      event_type: '$identify',
      insert_id: 'msg-0001',
      groups: { company: 'acme-co' },
      user_properties: { $set: { company: 'acme-co' } },
    });
    expect(groupIdentify).toMatchObject({
      event_type: '$groupidentify',
      insert_id: 'msg-0001:group',
      groups: { company: 'acme-co' },
      group_properties: { $set: { name: 'Acme', employees: 50 } },
    });
  });

  it('uses the configured group type and skips $groupidentify for a group without traits', () => {
    const mapped = toAmplitudeEvents(
      event({ type: 'group', groupId: 42 as unknown as string }),
      config({ defaultGroupType: 'org' }),
    );
    expect(mapped).toHaveLength(1);
    expect(mapped[0]!.groups).toEqual({ org: '42' });
  });

  it('refuses events it cannot map, with stable codes', () => {
    const c = config();
    expect(thrown(() => toAmplitudeEvents(event({ userId: null, anonymousId: null }), c))).toMatchObject({
      code: 'missing_identifier',
    });
    expect(thrown(() => toAmplitudeEvents(event({ event: '' }), c))).toMatchObject({
      code: 'invalid_field',
      field: 'event',
    });
    expect(thrown(() => toAmplitudeEvents(event({ type: 'group' }), c))).toMatchObject({
      code: 'invalid_field',
      field: 'groupId',
    });
    expect(thrown(() => toAmplitudeEvents(event({ timestamp: 'yesterday' }), c))).toMatchObject({
      field: 'timestamp',
    });
    expect(thrown(() => toAmplitudeEvents(event({ type: 'alias' }), c))).toMatchObject({
      code: 'unsupported_message_type',
    });
  });

  it('refuses ids shorter than 5 characters unless minIdLength allows them', () => {
    const short = event({ userId: '42' });
    expect(thrown(() => toAmplitudeEvents(short, config()))).toMatchObject({
      code: 'identifier_too_short',
      field: 'userId',
    });
    expect(toAmplitudeEvents(short, config({ minIdLength: 2 }))[0]!.user_id).toBe('42');
    expect(
      thrown(() => toAmplitudeEvents(event({ userId: null, anonymousId: 'a1' }), config())),
    ).toMatchObject({ field: 'anonymousId' });
  });

  it('maps an anonymous event with only a device id', () => {
    const [mapped] = toAmplitudeEvents(event({ userId: null }), config());
    expect(mapped).not.toHaveProperty('user_id');
    expect(mapped!.device_id).toBe('anon-0001');
  });
});
