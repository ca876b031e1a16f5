import {
  incomingEventSchema,
  MESSAGE_TYPES,
  RudderError,
  userKeyOf,
  type IncomingEvent,
  type MessageType,
} from '@rudder/common';
import type { GatewayLimits } from './types.ts';

/** The events of one request, validated, with what the envelope said about them. */
export interface ExtractedEvents {
  events: IncomingEvent[];
  /** A write key sent in the body (Segment allows it there); never stored with the events. */
  writeKey: string | undefined;
  /** The batch envelope's `sentAt`, applied to events without their own. */
  sentAt: string | undefined;
}

type JsonObject = Record<string, unknown>;

/**
 * The event of a `POST /v1/{type}` body. The type in the path wins over any
 * `type` in the body. The event's size is the decoded body's size, so no
 * re-serialization is needed to enforce `maxEventBytes`.
 */
export function singleEvent(
  doc: unknown,
  type: MessageType,
  bodyBytes: number,
  limits: GatewayLimits,
): ExtractedEvents {
  if (!isObject(doc))
    throw new RudderError('invalid_request', 'request body must be a JSON object (one event)');
  if (bodyBytes > limits.maxEventBytes) {
    throw new RudderError(
      'payload_too_large',
      `event is ${bodyBytes} bytes; the limit is ${limits.maxEventBytes}`,
    );
  }
  const writeKey = takeWriteKey(doc);
  doc['type'] = type;
  return { events: [validateEvent(doc, undefined)], writeKey, sentAt: undefined };
}

/**
 * The events of a `{ batch: [...], context?, integrations?, sentAt?, writeKey? }`
 * body (`/v1/batch`, `/v1/import`, `/beacon/v1/batch`). The envelope's
 * `context` and `integrations` are defaults merged under each event's own
 * (the event's keys win, one level deep), as Segment specifies for batches.
 * Every event is checked before any is accepted: one bad event fails the request.
 * Events are measured against `maxEventBytes` as the client sent them (before
 * the defaults), and only when the body itself is larger than one event may be.
 */
export function batchEvents(doc: unknown, bodyBytes: number, limits: GatewayLimits): ExtractedEvents {
  if (!isObject(doc))
    throw new RudderError('invalid_request', 'request body must be a JSON object with a "batch" array');
  const batch = doc['batch'];
  if (!Array.isArray(batch)) throw new RudderError('invalid_request', '"batch" must be an array of events');
  if (batch.length === 0) throw new RudderError('invalid_request', 'batch is empty');
  if (batch.length > limits.maxBatchEvents) {
    throw new RudderError(
      'invalid_request',
      `batch has ${batch.length} events; the limit is ${limits.maxBatchEvents}`,
    );
  }
  const context = envelopeObject(doc, 'context');
  const integrations = envelopeObject(doc, 'integrations');
  const sentAt = envelopeString(doc, 'sentAt');
  const writeKey = envelopeString(doc, 'writeKey');

  const measure = bodyBytes > limits.maxEventBytes;
  const events = new Array<IncomingEvent>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const raw: unknown = batch[i];
    if (!isObject(raw)) throw eventError(i, `batch[${i}] must be an object`);
    if (measure && exceedsJsonBytes(raw, limits.maxEventBytes)) {
      throw new RudderError('payload_too_large', `batch[${i}] exceeds ${limits.maxEventBytes} bytes`, {
        details: { index: i },
      });
    }
    takeWriteKey(raw);
    if (context !== undefined) raw['context'] = withDefaults(context, raw['context']);
    if (integrations !== undefined) raw['integrations'] = withDefaults(integrations, raw['integrations']);
    events[i] = validateEvent(raw, i);
  }
  return { events, writeKey, sentAt };
}

const KNOWN_TYPES: ReadonlySet<string> = new Set(MESSAGE_TYPES);

/**
 * Checks one event against the event spec (the shared schema, compiled once
 * at load) and the identity rule: an event must carry `userId` or
 * `anonymousId`, as the user key orders and partitions its events. Ids must
 * also fit the database (see {@link MAX_ID_CHARS}). `index` names the event's
 * position in its batch in the error.
 */
export function validateEvent(raw: JsonObject, index: number | undefined): IncomingEvent {
  const where = index === undefined ? 'event' : `batch[${index}]`;
  const type = raw['type'];
  if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
    throw eventError(
      index,
      `${where} has unknown type ${describe(type)}; expected one of ${MESSAGE_TYPES.join(', ')}`,
    );
  }
  const parsed = incomingEventSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue === undefined ? '' : issue.path.map(String).join('.');
    throw eventError(index, `${where}${path === '' ? '' : `.${path}`}: ${issue?.message ?? 'invalid event'}`);
  }
  const event = parsed.data;
  if (userKeyOf(event) === '') throw eventError(index, `${where} has neither userId nor anonymousId`);
  for (const field of KEY_FIELDS) {
    const value = event[field];
    if (typeof value !== 'string') continue;
    if (value.length > MAX_ID_CHARS)
      throw eventError(index, `${where}.${field} is longer than ${MAX_ID_CHARS} characters`);
    if (value.includes('\0')) throw eventError(index, `${where}.${field} contains a NUL character`);
  }
  return event;
}

/**
 * Longest accepted `messageId`/`userId`/`anonymousId`. These become indexed
 * text columns (user key, dedup key); Postgres refuses btree entries over
 * ~2.7 kB, and 512 UTF-16 units stay under that in any encoding.
 */
export const MAX_ID_CHARS = 512;

/**
 * The fields stored in text columns besides the event JSON. Postgres text
 * cannot hold NUL, and one such id would fail the whole group commit it rides
 * in (other clients' requests included), so it is refused here instead.
 */
const KEY_FIELDS = ['messageId', 'userId', 'anonymousId'] as const;

/**
 * Whether `value` serializes to more than `maxBytes` UTF-8 bytes. A UTF-16
 * unit encodes to 1-3 bytes, so the string length settles most cases without
 * a second pass over the text.
 */
export function exceedsJsonBytes(value: unknown, maxBytes: number): boolean {
  const json = JSON.stringify(value);
  if (json.length > maxBytes) return true;
  if (json.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(json, 'utf8') > maxBytes;
}

/** Removes a body `writeKey` from an event (it is a secret, not event data) and returns it if it is a string. */
function takeWriteKey(doc: JsonObject): string | undefined {
  const key = doc['writeKey'];
  if (key === undefined) return undefined;
  delete doc['writeKey'];
  return typeof key === 'string' ? key : undefined;
}

function withDefaults(defaults: JsonObject, own: unknown): unknown {
  if (own === undefined || own === null) return { ...defaults };
  return isObject(own) ? { ...defaults, ...own } : own;
}

function envelopeObject(doc: JsonObject, key: string): JsonObject | undefined {
  const value = doc[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new RudderError('invalid_request', `batch "${key}" must be an object`);
  return value;
}

function envelopeString(doc: JsonObject, key: string): string | undefined {
  const value = doc[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new RudderError('invalid_request', `batch "${key}" must be a string`);
  return value;
}

function eventError(index: number | undefined, message: string): RudderError {
  return new RudderError('invalid_event', message, index === undefined ? {} : { details: { index } });
}

/** A short, safe rendering of a client value for an error message. */
function describe(value: unknown): string {
  if (typeof value !== 'string') return String(value);
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 61)}...` : value);
}

/** A JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
