import type { SentEvent } from './harness.ts';
import { checkSequences } from './sequence-check.ts';

const event = (user: string, seq: number): Record<string, unknown> => ({
  messageId: `${user}-${seq}`,
  userId: user,
  properties: { seq },
});
const ids = (...pairs: [string, number][]): Map<string, SentEvent> =>
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
