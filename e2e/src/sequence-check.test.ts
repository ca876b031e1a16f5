import { checkSequences } from './sequence-check.ts';
import type { SequencedEvent } from './sequence-load.ts';

const event = (user: string, seq: number) => ({
  userId: user,
  messageId: `${user}-${seq}`,
  properties: { seq },
});
const sentOf = (...events: ReturnType<typeof event>[]) =>
  new Map<string, SequencedEvent>(
    events.map((e) => [e.messageId, { user: e.userId, seq: e.properties.seq }]),
  );

describe('checkSequences', () => {
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
