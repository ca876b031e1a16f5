import type { SequencedEvent } from './sequence-load.ts';

/** What a sink received of a sequence load (see `startSequenceLoad`), checked per user. */
export interface SequenceReport {
  /** Events received, duplicates included. */
  arrivals: number;
  /** Distinct messageIds among them. */
  unique: number;
  /** Arrivals of a messageId already seen. */
  duplicates: number;
  /** Users with at least one event received. */
  users: number;
  /** Acknowledged messageIds that never arrived. */
  missing: string[];
  /** First arrivals out of sequence (a gap or a step back); at most 20 listed. */
  orderViolations: string[];
  /** Events without the load's messageId, userId and numeric `properties.seq`, or never sent. */
  unknown: number;
}

const MAX_LISTED = 20;

/**
 * Checks the events a sink received, in arrival order: a user's first
 * arrivals must be exactly 0, 1, 2... (its client never skips an
 * unacknowledged number, so any gap or step back is an ordering fault);
 * a messageId seen before is a duplicate, counted apart; every acknowledged
 * messageId must have arrived.
 */
export function checkSequences(
  events: readonly unknown[],
  acked: ReadonlyMap<string, SequencedEvent>,
  sent: ReadonlyMap<string, SequencedEvent>,
): SequenceReport {
  const seen = new Set<string>();
  const expected = new Map<string, number>();
  const orderViolations: string[] = [];
  let duplicates = 0;
  let unknown = 0;
  for (const raw of events) {
    const e = raw as { messageId?: unknown; userId?: unknown; properties?: { seq?: unknown } };
    const id = typeof e.messageId === 'string' ? e.messageId : undefined;
    const user = typeof e.userId === 'string' ? e.userId : undefined;
    const seq = typeof e.properties?.seq === 'number' ? e.properties.seq : undefined;
    if (id === undefined || user === undefined || seq === undefined || !sent.has(id)) {
      unknown++;
      continue;
    }
    if (seen.has(id)) {
      duplicates++;
      continue;
    }
    seen.add(id);
    const due = expected.get(user) ?? 0;
    if (seq !== due && orderViolations.length < MAX_LISTED)
      orderViolations.push(`${user}: seq ${seq} arrived first where seq ${due} was due`);
    expected.set(user, Math.max(due, seq + 1));
  }
  const missing = [...acked.keys()].filter((id) => !seen.has(id));
  return {
    arrivals: events.length,
    unique: seen.size,
    duplicates,
    users: expected.size,
    missing,
    orderViolations,
    unknown,
  };
}
