/** The event times the gateway stores, as ISO 8601 strings. */
export interface EventTimes {
  /** The client's own event time, verbatim (`timestamp`, else `originalTimestamp`); null when it sent none. */
  originalTimestamp: string | null;
  /** The event time on the server's clock. */
  timestamp: string;
}

/**
 * Corrects a client's event time for its clock skew.
 *
 * Segment SDKs send `timestamp`, RudderStack SDKs `originalTimestamp`; both
 * send `sentAt`, the client clock when the request left. The request's delay
 * on the client (`sentAt - originalTimestamp`) is measured on one clock, so it
 * survives a skewed clock, and `timestamp = receivedAt - (sentAt -
 * originalTimestamp)` places the event on the server's clock. Without `sentAt`
 * the client's time is kept as is; without any client time, `receivedAt` is
 * used. Unparseable client times count as absent for the arithmetic (they are
 * still kept verbatim in `originalTimestamp`), so a bad clock string never
 * fails the event.
 */
export function eventTimes(input: {
  timestamp: string | null | undefined;
  originalTimestamp: string | null | undefined;
  sentAt: string | null | undefined;
  receivedAt: Date;
}): EventTimes {
  const original = nonEmpty(input.timestamp) ?? nonEmpty(input.originalTimestamp);
  const receivedMs = input.receivedAt.getTime();
  if (original === undefined) return { originalTimestamp: null, timestamp: input.receivedAt.toISOString() };

  const originalMs = Date.parse(original);
  if (Number.isNaN(originalMs))
    return { originalTimestamp: original, timestamp: input.receivedAt.toISOString() };

  const sentAt = nonEmpty(input.sentAt);
  const sentMs = sentAt === undefined ? Number.NaN : Date.parse(sentAt);
  const corrected = Number.isNaN(sentMs) ? originalMs : receivedMs - (sentMs - originalMs);
  return { originalTimestamp: original, timestamp: toIso(corrected) ?? input.receivedAt.toISOString() };
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value;
}

/** ISO form of a millisecond time, or undefined outside the range a Date can hold (absurd client clocks). */
function toIso(ms: number): string | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
