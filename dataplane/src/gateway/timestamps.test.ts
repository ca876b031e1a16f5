import { eventTimes } from './timestamps.ts';

const receivedAt = new Date('2024-05-01T12:00:10.000Z');

describe('eventTimes', () => {
  it('corrects a fast client clock: timestamp = receivedAt - (sentAt - originalTimestamp)', () => {
    // The client clock runs an hour ahead; the event happened 3 s before the request left.
    const times = eventTimes({
      timestamp: '2024-05-01T13:00:04.000Z',
      originalTimestamp: undefined,
      sentAt: '2024-05-01T13:00:07.000Z',
      receivedAt,
    });
    expect(times).toEqual({
      originalTimestamp: '2024-05-01T13:00:04.000Z',
      timestamp: '2024-05-01T12:00:07.000Z',
    });
  });

  it('reads RudderStack SDKs’ originalTimestamp when there is no timestamp', () => {
    const times = eventTimes({
      timestamp: undefined,
      originalTimestamp: '2024-05-01T11:59:00.000+00:00',
      sentAt: '2024-05-01T11:59:05.000Z',
      receivedAt,
    });
    expect(times).toEqual({
      originalTimestamp: '2024-05-01T11:59:00.000+00:00',
      timestamp: '2024-05-01T12:00:05.000Z',
    });
  });

  it('prefers timestamp over originalTimestamp when a client sends both', () => {
    const times = eventTimes({
      timestamp: '2024-05-01T12:00:00.000Z',
      originalTimestamp: '2020-01-01T00:00:00.000Z',
      sentAt: undefined,
      receivedAt,
    });
    expect(times.originalTimestamp).toBe('2024-05-01T12:00:00.000Z');
  });

  it('keeps the client time when sentAt is absent or unparseable', () => {
    const base = { timestamp: '2024-05-01T10:00:00.000Z', originalTimestamp: undefined, receivedAt };
    expect(eventTimes({ ...base, sentAt: undefined }).timestamp).toBe('2024-05-01T10:00:00.000Z');
    expect(eventTimes({ ...base, sentAt: 'yesterday' }).timestamp).toBe('2024-05-01T10:00:00.000Z');
  });

  it('uses receivedAt when the client sent no time', () => {
    expect(
      eventTimes({ timestamp: null, originalTimestamp: '', sentAt: '2024-05-01T12:00:00.000Z', receivedAt }),
    ).toEqual({
      originalTimestamp: null,
      timestamp: receivedAt.toISOString(),
    });
  });

  it('keeps an unparseable client time verbatim but does not compute with it', () => {
    expect(
      eventTimes({ timestamp: 'not a date', originalTimestamp: undefined, sentAt: undefined, receivedAt }),
    ).toEqual({
      originalTimestamp: 'not a date',
      timestamp: receivedAt.toISOString(),
    });
  });

  it('falls back to receivedAt when the correction leaves the range of dates', () => {
    const times = eventTimes({
      timestamp: '-271821-04-20T00:00:00.000Z',
      originalTimestamp: undefined,
      sentAt: '+275760-09-13T00:00:00.000Z',
      receivedAt,
    });
    expect(times.timestamp).toBe(receivedAt.toISOString());
  });
});
