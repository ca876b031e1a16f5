import { RudderError } from '@rudder/common';
import { pixelEventFromQuery, PIXEL_GIF } from './pixel.ts';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof RudderError ? err.code : 'not a RudderError';
  }
};

describe('pixelEventFromQuery', () => {
  it('maps dotted parameters to nested fields, as the Pixel API documents', () => {
    const { writeKey, event } = pixelEventFromQuery(
      {
        writeKey: 'wk',
        anonymousId: 'a-1',
        name: 'Home',
        'context.library.name': 'Rudderstack AMP SDK',
        'context.page.path': '/home',
        'context.screen.width': '1280',
        'properties.url': 'https://example.com/home',
      },
      'page',
      64,
    );
    expect(writeKey).toBe('wk');
    expect(event).toEqual({
      channel: 'web',
      type: 'page',
      anonymousId: 'a-1',
      name: 'Home',
      context: {
        library: { name: 'Rudderstack AMP SDK' },
        page: { path: '/home' },
        screen: { width: '1280' },
      },
      properties: { url: 'https://example.com/home' },
    });
  });

  it('accepts properties as one JSON object and combines it with dotted ones', () => {
    const { event } = pixelEventFromQuery(
      { userId: 'u1', event: 'Open', properties: '{"plan":"pro","n":2}', 'properties.campaign': 'spring' },
      'track',
      64,
    );
    expect(event['properties']).toEqual({ plan: 'pro', n: 2, campaign: 'spring' });
  });

  it('takes the path type, the first of repeated parameters, and unquotes anonymousId', () => {
    const { event } = pixelEventFromQuery(
      { type: 'identify', anonymousId: '"a-1"', event: ['First', 'Second'] },
      'track',
      64,
    );
    expect(event).toMatchObject({ type: 'track', anonymousId: 'a-1', event: 'First' });
  });

  it('names an unnamed page "Unknown Page" and lets the channel be overridden', () => {
    const { event } = pixelEventFromQuery({ anonymousId: 'a', name: '', channel: 'email' }, 'page', 64);
    expect(event).toMatchObject({ name: 'Unknown Page', channel: 'email' });
  });

  it('requires an event name for track', () => {
    expect(codeOf(() => pixelEventFromQuery({ anonymousId: 'a' }, 'track', 64))).toBe('invalid_event');
    expect(codeOf(() => pixelEventFromQuery({ anonymousId: 'a', event: '' }, 'track', 64))).toBe(
      'invalid_event',
    );
  });

  it('refuses prototype paths, empty segments, conflicts and excessive depth', () => {
    expect(codeOf(() => pixelEventFromQuery({ event: 'E', '__proto__.polluted': 'x' }, 'track', 64))).toBe(
      'invalid_request',
    );
    expect(
      codeOf(() => pixelEventFromQuery({ event: 'E', 'constructor.prototype.x': '1' }, 'track', 64)),
    ).toBe('invalid_request');
    expect(codeOf(() => pixelEventFromQuery({ event: 'E', 'properties..x': '1' }, 'track', 64))).toBe(
      'invalid_request',
    );
    expect(
      codeOf(() => pixelEventFromQuery({ event: 'E', properties: 'flat', 'properties.x': '1' }, 'track', 64)),
    ).toBe('invalid_request');
    expect(codeOf(() => pixelEventFromQuery({ event: 'E', 'a.b.c.d': '1' }, 'track', 3))).toBe(
      'invalid_json',
    );
    expect(
      codeOf(() => pixelEventFromQuery({ event: 'E', properties: '{"__proto__":{"x":1}}' }, 'track', 64)),
    ).toBe('invalid_json');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('keeps a non-JSON properties value as a plain string for the schema to judge', () => {
    expect(pixelEventFromQuery({ event: 'E', properties: 'plain' }, 'track', 64).event['properties']).toBe(
      'plain',
    );
  });
});

describe('PIXEL_GIF', () => {
  it('is a 1x1 GIF', () => {
    expect(PIXEL_GIF.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(PIXEL_GIF.readUInt16LE(6)).toBe(1);
    expect(PIXEL_GIF.readUInt16LE(8)).toBe(1);
  });
});
