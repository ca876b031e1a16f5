import { z } from 'zod';

/** Message types of the Segment/RudderStack event spec. */
export const MESSAGE_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

const id = z.union([z.string(), z.number().transform(String)]);

/**
 * One event as a client sends it. Unknown fields are kept (the spec is open):
 * only the fields the platform relies on are checked.
 */
export const incomingEventSchema = z.looseObject({
  type: z.enum(MESSAGE_TYPES),
  messageId: id.optional(),
  userId: id.nullish(),
  anonymousId: id.nullish(),
  event: z.string().optional(),
  name: z.string().nullish(),
  properties: z.record(z.string(), z.unknown()).nullish(),
  traits: z.record(z.string(), z.unknown()).nullish(),
  context: z.record(z.string(), z.unknown()).nullish(),
  integrations: z.record(z.string(), z.unknown()).nullish(),
  groupId: id.nullish(),
  previousId: id.nullish(),
  timestamp: z.string().nullish(),
  originalTimestamp: z.string().nullish(),
  sentAt: z.string().nullish(),
});
export type IncomingEvent = z.infer<typeof incomingEventSchema>;

/**
 * An event after the gateway accepted it: ids filled, times corrected,
 * and the fields the pipeline needs set. This is what the jobs database stores.
 */
export interface RudderEvent extends Record<string, unknown> {
  type: MessageType;
  messageId: string;
  userId?: string | null;
  anonymousId?: string | null;
  event?: string;
  properties?: Record<string, unknown> | null;
  traits?: Record<string, unknown> | null;
  context?: Record<string, unknown> | null;
  integrations?: Record<string, unknown> | null;
  /** Event time, corrected for client clock skew (ISO 8601). */
  timestamp: string;
  originalTimestamp?: string | null;
  sentAt?: string | null;
  /** When the gateway received the request (ISO 8601). */
  receivedAt: string;
  request_ip: string;
  rudderId: string;
}
