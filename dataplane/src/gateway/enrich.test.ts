import { incomingEventSchema, type IncomingEvent } from '@rudder/common';
import { enrichEvent, type RequestFacts } from './enrich.ts';
import { rudderIdOf } from './rudder-id.ts';

const receivedAt = new Date('2024-05-01T12:00:10.000Z');
const facts: RequestFacts = {
  receivedAt,
  receivedAtIso: receivedAt.toISOString(),
  requestIp: '203.0.113.7',
  sentAt: undefined,
  newMessageId: () => 'generated-id',
};
const event = (raw: Record<string, unknown>): IncomingEvent =>
  incomingEventSchema.parse({ type: 'track', ...raw });

describe('enrichEvent', () => {
  it('fills messageId, receivedAt, request_ip, rudderId and timestamp', () => {
    const out = enrichEvent(event({ userId: 'u1', event: 'E' }), rudderIdOf('u1'), facts);
    expect(out).toMatchObject({
      type: 'track',
      event: 'E',
      userId: 'u1',
      messageId: 'generated-id',
      receivedAt: '2024-05-01T12:00:10.000Z',
      request_ip: '203.0.113.7',
      rudderId: rudderIdOf('u1'),
      timestamp: '2024-05-01T12:00:10.000Z',
    });
    expect(out).not.toHaveProperty('originalTimestamp');
  });

  it('keeps a client messageId (dedup depends on it) and generates UUID v4s otherwise', () => {
    expect(enrichEvent(event({ userId: 'u1', messageId: 'm-1' }), rudderIdOf('u1'), facts).messageId).toBe(
      'm-1',
    );
    const { newMessageId: _, ...realIds } = facts;
    expect(enrichEvent(event({ userId: 'u1' }), rudderIdOf('u1'), realIds).messageId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(enrichEvent(event({ userId: 'u1', messageId: '' }), rudderIdOf('u1'), facts).messageId).toBe(
      'generated-id',
    );
  });

  it('applies the batch sentAt to events without their own, and corrects skew with it', () => {
    const batchFacts = { ...facts, sentAt: '2024-05-01T13:00:07.000Z' };
    const out = enrichEvent(
      event({ userId: 'u1', timestamp: '2024-05-01T13:00:04.000Z' }),
      rudderIdOf('u1'),
      batchFacts,
    );
    expect(out).toMatchObject({
      sentAt: '2024-05-01T13:00:07.000Z',
      originalTimestamp: '2024-05-01T13:00:04.000Z',
      timestamp: '2024-05-01T12:00:07.000Z',
    });
    const own = enrichEvent(
      event({ userId: 'u1', sentAt: '2024-05-01T13:00:05.000Z', timestamp: '2024-05-01T13:00:04.000Z' }),
      rudderIdOf('u1'),
      batchFacts,
    );
    expect(own.timestamp).toBe('2024-05-01T12:00:09.000Z');
  });

  it('overwrites a client-supplied request_ip with what the gateway saw, and leaves context untouched', () => {
    const context = { library: { name: 'analytics-node', version: '3.0.0' }, ip: '198.51.100.1' };
    const out = enrichEvent(event({ userId: 'u1', request_ip: '1.1.1.1', context }), rudderIdOf('u1'), facts);
    expect(out.request_ip).toBe('203.0.113.7');
    expect(out.context).toEqual(context);
  });
});

describe('rudderIdOf', () => {
  it('is a stable RFC 9562 version 8 UUID per user key (pinned vector)', () => {
    expect(rudderIdOf('u1')).toBe(rudderIdOf('u1'));
    expect(rudderIdOf('u1')).not.toBe(rudderIdOf('u2'));
    expect(rudderIdOf('u1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // sha256("") = e3b0c442 98fc 1c14 9afb f4c8 996f b924...: version and variant bits applied.
    expect(rudderIdOf('')).toBe('e3b0c442-98fc-8c14-9afb-f4c8996fb924');
  });
});
