import type { RudderEvent } from '@rudder/common';
import { TransformError } from '../errors.ts';
import { asRecord, compact, numberAt, recordAt, stringAt } from '../event-fields.ts';
import { minIdLengthOf, type AmplitudeConfig } from './config.ts';

/** One event of the HTTP V2 API's `events` array (the keys this mapping fills). */
export interface AmplitudeEvent {
  event_type: string;
  user_id?: string;
  device_id?: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** Amplitude drops repeats of an insert_id seen in the last 7 days, which makes retries safe. */
  insert_id: string;
  event_properties?: Record<string, unknown>;
  user_properties?: Record<string, unknown>;
  groups?: Record<string, string>;
  group_properties?: Record<string, unknown>;
  app_version?: string;
  platform?: string;
  os_name?: string;
  os_version?: string;
  device_brand?: string;
  device_manufacturer?: string;
  device_model?: string;
  carrier?: string;
  country?: string;
  region?: string;
  city?: string;
  language?: string;
  location_lat?: number;
  location_lng?: number;
  ip?: string;
  idfa?: string;
  adid?: string;
  library?: string;
  session_id?: number;
  price?: number;
  quantity?: number;
  revenue?: number;
  productId?: string;
  revenueType?: string;
}

const TYPE = 'amplitude';

/**
 * Maps one event to Amplitude events. `group` yields two: an `$identify`
 * that puts the user in the group, and a `$groupidentify` carrying the
 * group's traits (when it has any).
 */
export function toAmplitudeEvents(event: RudderEvent, config: AmplitudeConfig): AmplitudeEvent[] {
  const base: Omit<AmplitudeEvent, 'event_type'> = {
    ...identity(event, config),
    ...timeAndId(event),
    ...contextFields(event),
  };
  const properties = asRecord(event.properties) ?? {};
  switch (event.type) {
    case 'track': {
      const name = stringAt(event, 'event');
      if (name === undefined)
        throw new TransformError(TYPE, 'invalid_field', 'track event has no name', { field: 'event' });
      return [
        compact({
          ...base,
          event_type: name,
          event_properties: properties,
          ...revenueFields(properties),
        }) as AmplitudeEvent,
      ];
    }
    case 'page':
    case 'screen': {
      const noun = event.type === 'page' ? 'Page' : 'Screen';
      const name = stringAt(event, 'name') ?? stringAt(properties, 'name');
      const eventType = name === undefined ? `Loaded a ${noun}` : `Viewed ${name} ${noun}`;
      return [compact({ ...base, event_type: eventType, event_properties: properties }) as AmplitudeEvent];
    }
    case 'identify': {
      const traits = asRecord(event.traits) ?? recordAt(event, 'context.traits') ?? {};
      return [
        compact({ ...base, event_type: '$identify', user_properties: { $set: traits } }) as AmplitudeEvent,
      ];
    }
    case 'group':
      return groupEvents(event, config, base);
    case 'alias':
      throw new TransformError(TYPE, 'unsupported_message_type', 'Amplitude does not support alias', {
        field: 'type',
      });
  }
}

function groupEvents(
  event: RudderEvent,
  config: AmplitudeConfig,
  base: Omit<AmplitudeEvent, 'event_type'>,
): AmplitudeEvent[] {
  const groupId = stringAt(event, 'groupId');
  if (groupId === undefined)
    throw new TransformError(TYPE, 'invalid_field', 'group event has no groupId', { field: 'groupId' });
  const { groupType: rawType, ...traits } = asRecord(event.traits) ?? {};
  const groupType = typeof rawType === 'string' && rawType !== '' ? rawType : config.defaultGroupType;
  const groups = { [groupType]: groupId };
  // Amplitude's user-level membership is a user property named after the group type.
  const membership = { ...base, event_type: '$identify', groups, user_properties: { $set: groups } };
  const out = [compact(membership) as AmplitudeEvent];
  if (Object.keys(traits).length > 0) {
    const insertId = `${event.messageId}:group`;
    out.push(
      compact({
        ...base,
        insert_id: insertId,
        event_type: '$groupidentify',
        groups,
        group_properties: { $set: traits },
      }) as AmplitudeEvent,
    );
  }
  return out;
}

/** Amplitude requires user_id or device_id, each at least min_id_length long. */
function identity(event: RudderEvent, config: AmplitudeConfig): { user_id?: string; device_id?: string } {
  const userId = stringAt(event, 'userId');
  // Amplitude rejects all-zero device ids (IDFA with Limit Ad Tracking); fall back to the anonymous id.
  const contextDeviceId = stringAt(event, 'context.device.id');
  const fromContext = contextDeviceId !== undefined && !/^[0-]+$/.test(contextDeviceId);
  const deviceId = fromContext ? contextDeviceId : stringAt(event, 'anonymousId');
  if (userId === undefined && deviceId === undefined) {
    throw new TransformError(
      TYPE,
      'missing_identifier',
      'Amplitude needs a userId or an anonymousId/device id',
      { field: 'userId' },
    );
  }
  const min = minIdLengthOf(config);
  const deviceField = fromContext ? 'context.device.id' : 'anonymousId';
  for (const [field, value] of [
    ['userId', userId],
    [deviceField, deviceId],
  ] as const) {
    if (value !== undefined && value.length < min) {
      throw new TransformError(
        TYPE,
        'identifier_too_short',
        `${field} "${value}" is shorter than ${min} characters; lower minIdLength in the destination config to accept it`,
        { field },
      );
    }
  }
  return compact({ user_id: userId, device_id: deviceId });
}

function timeAndId(event: RudderEvent): { time: number; insert_id: string } {
  const time = Date.parse(event.timestamp);
  if (Number.isNaN(time))
    throw new TransformError(TYPE, 'invalid_field', 'timestamp is not a date', { field: 'timestamp' });
  return { time, insert_id: event.messageId };
}

/** Device, location and app facts from the Segment `context`. */
function contextFields(event: RudderEvent): Partial<AmplitudeEvent> {
  const os = stringAt(event, 'context.os.name');
  const advertisingId = stringAt(event, 'context.device.advertisingId');
  const lowerOs = os?.toLowerCase();
  const library = stringAt(event, 'context.library.name');
  const libraryVersion = stringAt(event, 'context.library.version');
  const sessionId = numberAt(event, 'context.sessionId');
  return compact({
    platform:
      stringAt(event, 'context.device.type') ?? (stringAt(event, 'context.page.url') ? 'Web' : undefined),
    os_name: os,
    os_version: stringAt(event, 'context.os.version'),
    device_brand: stringAt(event, 'context.device.brand'),
    device_manufacturer: stringAt(event, 'context.device.manufacturer'),
    device_model: stringAt(event, 'context.device.model'),
    carrier: stringAt(event, 'context.network.carrier'),
    country: stringAt(event, 'context.location.country'),
    region: stringAt(event, 'context.location.region'),
    city: stringAt(event, 'context.location.city'),
    location_lat: numberAt(event, 'context.location.latitude'),
    location_lng: numberAt(event, 'context.location.longitude'),
    language: stringAt(event, 'context.locale'),
    // The client's own address (context.ip) wins over the address the gateway saw, which may be a proxy.
    ip: stringAt(event, 'context.ip') ?? stringAt(event, 'request_ip'),
    idfa: lowerOs === 'ios' || lowerOs === 'ipados' ? advertisingId : undefined,
    adid: lowerOs === 'android' ? advertisingId : undefined,
    app_version: stringAt(event, 'context.app.version'),
    library:
      library === undefined
        ? undefined
        : libraryVersion === undefined
          ? library
          : `${library}/${libraryVersion}`,
    // Amplitude session ids are the session's start in ms; anything else would split sessions wrongly.
    session_id: sessionId !== undefined && Number.isInteger(sessionId) ? sessionId : undefined,
  });
}

/** Amplitude's revenue keys, from the e-commerce spec's property names. */
function revenueFields(properties: Record<string, unknown>): Partial<AmplitudeEvent> {
  const quantity = numberAt(properties, 'quantity');
  return compact({
    revenue: numberAt(properties, 'revenue'),
    price: numberAt(properties, 'price'),
    quantity: quantity !== undefined && Number.isInteger(quantity) ? quantity : undefined,
    productId: stringAt(properties, 'product_id') ?? stringAt(properties, 'productId'),
    revenueType: stringAt(properties, 'revenueType') ?? stringAt(properties, 'revenue_type'),
  });
}
