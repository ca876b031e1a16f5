import type { EventFilter, MessageType, RudderEvent } from '@rudder/common';

/**
 * Whether an event goes to a destination: its message type must be one the
 * destination takes (the destination's own list, else what its type
 * supports), and a `track` event's name must pass the allow and deny lists.
 */
export function passesFilter(
  event: RudderEvent,
  filter: EventFilter,
  supported: readonly MessageType[],
): boolean {
  const types = filter.messageTypes ?? supported;
  if (!types.includes(event.type)) return false;
  if (event.type !== 'track') return true;
  const name = typeof event.event === 'string' ? event.event : '';
  if (filter.allowEvents && filter.allowEvents.length > 0 && !filter.allowEvents.includes(name)) return false;
  if (filter.denyEvents?.includes(name)) return false;
  return true;
}
