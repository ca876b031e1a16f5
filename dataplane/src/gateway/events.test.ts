import { RudderError } from '@rudder/common';
import { batchEvents, exceedsJsonBytes, singleEvent } from './events.ts';
import { CORPUS_LIMITS as limits } from './corpus.ts';

function failure(fn: () => unknown): { code: string; message: string; details: unknown } {
  try {
    fn();
  } catch (err) {
    if (err instanceof RudderError) return { code: err.code, message: err.message, details: err.details };
    throw err;
  }
  throw new Error('expected a RudderError');
}

describe('singleEvent', () => {
  it('lets the path type win and takes the write key out of the event', () => {
    const { events, writeKey } = singleEvent(
      { type: 'page', userId: 'u1', writeKey: 'wk' },
      'track',
      40,
      limits,
    );
    expect(writeKey).toBe('wk');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'track', userId: 'u1' });
    expect(events[0]).not.toHaveProperty('writeKey');
  });

  it('normalizes numeric ids to strings and keeps unknown fields', () => {
    const { events } = singleEvent(
      { userId: 42, channel: 'server', custom: { a: 1 } },
      'identify',
      40,
      limits,
    );
    expect(events[0]).toMatchObject({ userId: '42', channel: 'server', custom: { a: 1 } });
  });

  it('measures the event by its body size', () => {
    expect(failure(() => singleEvent({ userId: 'u1' }, 'track', limits.maxEventBytes + 1, limits)).code).toBe(
      'payload_too_large',
    );
  });
});

/** Runs batchEvents on a document as if it arrived as its JSON text. */
const extract = (doc: Record<string, unknown>): ReturnType<typeof batchEvents> =>
  batchEvents(doc, Buffer.byteLength(JSON.stringify(doc)), limits);

describe('batchEvents', () => {
  it('merges envelope context and integrations under each event, the event’s keys winning', () => {
    const { events, sentAt, writeKey } = extract({
      writeKey: 'wk',
      sentAt: '2024-05-01T12:00:00.000Z',
      context: { library: { name: 'lib' }, locale: 'en' },
      integrations: { All: true },
      batch: [
        { type: 'track', event: 'A', userId: 'u1', context: { locale: 'de' } },
        { type: 'identify', anonymousId: 'a1', integrations: { All: false, Amplitude: true } },
      ],
    });
    expect(writeKey).toBe('wk');
    expect(sentAt).toBe('2024-05-01T12:00:00.000Z');
    expect(events[0]).toMatchObject({
      context: { library: { name: 'lib' }, locale: 'de' },
      integrations: { All: true },
    });
    expect(events[1]).toMatchObject({
      context: { library: { name: 'lib' }, locale: 'en' },
      integrations: { All: false, Amplitude: true },
    });
    expect(events[0]!.context).not.toBe(events[1]!.context);
  });

  it('names the index of the first bad event', () => {
    const bad = failure(() =>
      extract({
        batch: [
          { type: 'track', userId: 'u' },
          { type: 'track', event: 'E' },
        ],
      }),
    );
    expect(bad).toEqual({
      code: 'invalid_event',
      message: 'batch[1] has neither userId nor anonymousId',
      details: { index: 1 },
    });
    expect(failure(() => extract({ batch: [{ type: 'buy', userId: 'u' }] })).message).toMatch(
      /batch\[0\] has unknown type "buy"/,
    );
    expect(
      failure(() => extract({ batch: [{ type: 'track', userId: 'u', properties: [] }] })).message,
    ).toMatch(/^batch\[0\]\.properties: /);
  });

  it('refuses ids the database cannot index or store', () => {
    expect(failure(() => extract({ batch: [{ type: 'track', userId: 'u\u0000' }] })).message).toBe(
      'batch[0].userId contains a NUL character',
    );
    expect(
      failure(() => extract({ batch: [{ type: 'track', userId: 'u', messageId: 'm'.repeat(513) }] })).code,
    ).toBe('invalid_event');
  });

  it('enforces the batch size limits', () => {
    expect(failure(() => extract({ batch: [] })).code).toBe('invalid_request');
    const many = Array.from({ length: limits.maxBatchEvents + 1 }, () => ({ type: 'track', userId: 'u' }));
    expect(failure(() => extract({ batch: many })).code).toBe('invalid_request');
    const big = { type: 'track', userId: 'u', properties: { pad: 'x'.repeat(limits.maxEventBytes) } };
    expect(failure(() => extract({ batch: [{ type: 'track', userId: 'u' }, big] }))).toMatchObject({
      code: 'payload_too_large',
      details: { index: 1 },
    });
  });
});

describe('exceedsJsonBytes', () => {
  it('counts UTF-8 bytes, not characters', () => {
    const value = { s: 'é'.repeat(10) }; // 18 characters, 28 bytes serialized
    expect(exceedsJsonBytes(value, 28)).toBe(false);
    expect(exceedsJsonBytes(value, 27)).toBe(true);
    expect(exceedsJsonBytes({ s: 'x' }, 1000)).toBe(false);
  });
});
