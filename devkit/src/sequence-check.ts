import type { SequencedEvent } from './sequence-load.ts';

/**
 * The strict per-user check of a scaling run: a user's events are numbered
 * 0, 1, 2... (property `seq`) and its client never skips an unacknowledged
 * number, so at the sink the first arrival of each number must be exactly the
 * next one: 0, 1, 2... with no gap and no step back. Redeliveries of a number
 * already seen are duplicates, counted apart.
 */
export interface SequenceReport {
  /** Events the sink received, duplicates included. */
  arrivals: number;
  /** Distinct messageIds among them. */
  unique: number;
  /** Redeliveries: arrivals of a messageId already seen. */
  duplicates: number;
  /** The messageIds that arrived more than once. */
  duplicated: string[];
  /** Users with at least one event at the sink. */
  users: number;
  /** Acknowledged messageIds that never arrived. */
  missing: string[];
  /** First arrivals out of sequence (a gap or a step back), at most 20 listed. */
  orderViolations: string[];
  /** Events without the generator's messageId, userId and numeric `seq`, or never sent by it. */
  unknown: number;
}

const MAX_LISTED = 20;

/** Checks the sink's events, in arrival order, against what was sent and acknowledged. */
export function checkSequences(
  events: readonly unknown[],
  acked: ReadonlyMap<string, SequencedEvent>,
  sent: ReadonlyMap<string, SequencedEvent>,
): SequenceReport {
  const seen = new Set<string>();
  const expected = new Map<string, number>();
  const orderViolations: string[] = [];
  let unknown = 0;
  let duplicates = 0;
  const duplicated = new Set<string>();
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
      duplicated.add(id);
      continue;
    }
    seen.add(id);
    const next = expected.get(user) ?? 0;
    if (seq !== next && orderViolations.length <= MAX_LISTED)
      orderViolations.push(
        orderViolations.length === MAX_LISTED
          ? '...'
          : `${user}: seq ${seq} arrived first where seq ${next} was due`,
      );
    expected.set(user, Math.max(next, seq + 1));
  }
  const missing: string[] = [];
  for (const id of acked.keys()) if (!seen.has(id)) missing.push(id);
  return {
    arrivals: events.length,
    unique: seen.size,
    duplicates,
    duplicated: [...duplicated],
    users: expected.size,
    missing,
    orderViolations,
    unknown,
  };
}
