import { randomUUID } from 'node:crypto';
import type { IncomingEvent, RudderEvent } from '@rudder/common';
import { eventTimes } from './timestamps.ts';

/** What the gateway knows about the request an event arrived in. */
export interface RequestFacts {
  receivedAt: Date;
  /** `receivedAt` as ISO 8601, formatted once per request rather than per event. */
  receivedAtIso: string;
  requestIp: string;
  /** The batch envelope's `sentAt`, the default for events that carry none. */
  sentAt: string | undefined;
  /** Id generator for events without `messageId`; tests pass a deterministic one. */
  newMessageId?: () => string;
}

/**
 * Completes a validated client event into what the jobs database stores:
 * - `messageId`: kept when the client sent one (dedup relies on it), else a random UUID v4;
 * - `receivedAt`, and `request_ip` from the connection (always the gateway's
 *   observation; a client reports an end user's IP in `context.ip`);
 * - `rudderId`: stable per user key (see `rudderIdOf`), computed by the caller;
 * - `sentAt` from the event or the batch envelope; `originalTimestamp` and the
 *   skew-corrected `timestamp` (see {@link eventTimes});
 * - everything else, `context.library` included, untouched.
 *
 * Takes ownership of `event` and completes it in place: it is the gateway's
 * private copy (the schema parse made it), and a second copy per event would
 * be pure overhead on the ingestion path.
 */
export function enrichEvent(event: IncomingEvent, rudderId: string, facts: RequestFacts): RudderEvent {
  const sentAt =
    event.sentAt === null || event.sentAt === undefined || event.sentAt === '' ? facts.sentAt : event.sentAt;
  const times = eventTimes({
    timestamp: event.timestamp,
    originalTimestamp: event.originalTimestamp,
    sentAt,
    receivedAt: facts.receivedAt,
  });
  const out = event as Record<string, unknown>;
  if (event.messageId === undefined || event.messageId === '') {
    out['messageId'] = (facts.newMessageId ?? randomUUID)();
  }
  out['receivedAt'] = facts.receivedAtIso;
  out['request_ip'] = facts.requestIp;
  out['rudderId'] = rudderId;
  if (sentAt !== undefined) out['sentAt'] = sentAt;
  if (times.originalTimestamp !== null) out['originalTimestamp'] = times.originalTimestamp;
  out['timestamp'] = times.timestamp;
  return out as RudderEvent;
}
