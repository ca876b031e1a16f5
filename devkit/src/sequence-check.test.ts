import type { SequencedEvent } from './sequence-load.ts';
import { checkSequences } from './sequence-check.ts';

const event = (user: string, seq: number): Record<string, unknown> => ({
  messageId: `${user}-${seq}`,
  userId: user,
  properties: { seq },
});
const ids = (...pairs: [string, number][]): Map<string, SequencedEvent> =>
  new Map(pairs.map(([user, seq]) => [`${user}-${seq}`, { user, seq }]));
const sent = ids(['a', 0], ['a', 1], ['a', 2], ['a', 3], ['b', 0], ['b', 1]);

describe('checkSequences', () => {
  it('accepts interleaved users whose first arrivals count up from 0, and counts redeliveries apart', () => {
    const events = [event('a', 0), event('b', 0), event('a', 1), event('a', 0), event('a', 1), event('b', 1)];
    expect(checkSequences(events, ids(['a', 0], ['a', 1], ['b', 0]), sent)).toEqual({
      arrivals: 6,
      unique: 4,
      duplicates: 2,
      duplicated: ['a-0', 'a-1'],
      users: 2,
      missing: [],
      orderViolations: [],
      unknown: 0,
    });
  });

  it('reports a gap, a step back and an acknowledged event that never arrived', () => {
    const gap = checkSequences([event('a', 0), event('a', 2), event('a', 1)], ids(['a', 3]), sent);
    expect(gap.orderViolations).toEqual([
      'a: seq 2 arrived first where seq 1 was due',
      'a: seq 1 arrived first where seq 3 was due',
    ]);
    expect(gap.missing).toEqual(['a-3']);
  });

  it('counts events the generator never sent as unknown', () => {
    const report = checkSequences([event('c', 0), { messageId: 'a-0' }], new Map(), sent);
    expect(report.unknown).toBe(2);
    expect(report.unique).toBe(0);
  });
});

describe('checkSequences over interleaved users', () => {
  const event = (user: string, seq: number) => ({
    userId: user,
    messageId: `${user}-${seq}`,
    properties: { seq },
  });
  const sentOf = (...events: ReturnType<typeof event>[]) =>
    new Map<string, SequencedEvent>(
      events.map((e) => [e.messageId, { user: e.userId, seq: e.properties.seq }]),
    );
  const sent = sentOf(event('a', 0), event('a', 1), event('a', 2), event('b', 0), event('b', 1));

  it('passes interleaved users in order, counting a redelivery as a duplicate', () => {
    const arrivals = [
      event('a', 0),
      event('b', 0),
      event('a', 1),
      event('a', 1),
      event('b', 1),
      event('a', 2),
    ];
    expect(checkSequences(arrivals, sent, sent)).toEqual({
      arrivals: 6,
      unique: 5,
      duplicates: 1,
      duplicated: ['a-1'],
      users: 2,
      missing: [],
      orderViolations: [],
      unknown: 0,
    });
  });

  it("flags a user's step back or gap, an acknowledged event that never came, and strangers", () => {
    const arrivals = [event('a', 1), event('a', 0), event('b', 1), event('c', 0), { hello: 1 }];
    const report = checkSequences(arrivals, sent, sent);
    expect(report.orderViolations).toEqual([
      'a: seq 1 arrived first where seq 0 was due',
      'a: seq 0 arrived first where seq 2 was due',
      'b: seq 1 arrived first where seq 0 was due',
    ]);
    expect(report.missing).toEqual(['a-2', 'b-0']);
    expect(report.unknown).toBe(2);
  });
});
