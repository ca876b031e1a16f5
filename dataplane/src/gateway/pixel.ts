import { RudderError } from '@rudder/common';
import { parseJson } from './body.ts';
import { isObject } from './events.ts';

/** A transparent 1x1 GIF, the answer to every pixel request. */
export const PIXEL_GIF: Buffer = Buffer.from(
  'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7',
  'base64',
);

/** Query parameters as fastify parses them: repeated keys arrive as arrays. */
export type QueryParams = Record<string, string | string[] | undefined>;

/** What a pixel URL carries: the write key and the (not yet validated) event. */
export interface PixelRequest {
  writeKey: string | undefined;
  event: Record<string, unknown>;
}

const JSON_FIELDS: ReadonlySet<string> = new Set(['properties', 'context', 'traits', 'integrations']);
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Maps a pixel GET (`/pixel/v1/{track,page}`) to an event, as the RudderStack
 * Pixel API specifies: dotted parameters become nested fields
 * (`context.page.path=/x` -> `{ context: { page: { path: '/x' } } }`), values
 * stay strings, `properties`/`context`/`traits`/`integrations` may also be a
 * whole JSON object, `writeKey` authenticates and is not stored, `channel`
 * defaults to `web`, a quoted `anonymousId` is unquoted (AMP sends it so), a
 * page with an empty `name` is "Unknown Page", and a track needs `event`.
 * Paths through `__proto__`/`constructor`/`prototype` or deeper than
 * `maxDepth` are refused, like the same keys in a JSON body.
 */
export function pixelEventFromQuery(
  query: QueryParams,
  type: 'track' | 'page',
  maxDepth: number,
): PixelRequest {
  const event: Record<string, unknown> = { channel: 'web' };
  let writeKey: string | undefined;
  for (const key of Object.keys(query)) {
    const raw = query[key];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined) continue;
    if (key === 'writeKey') {
      writeKey = value;
      continue;
    }
    const path = key.split('.');
    if (path.length > maxDepth)
      throw new RudderError('invalid_json', `query parameter "${key}" nests deeper than ${maxDepth}`);
    if (path.some((segment) => segment === '' || FORBIDDEN_SEGMENTS.has(segment))) {
      throw new RudderError('invalid_request', `query parameter "${key}" is not a valid field path`);
    }
    setPath(
      event,
      path,
      JSON_FIELDS.has(key) && value.startsWith('{') ? parseJsonObject(key, value, maxDepth) : value,
    );
  }
  event['type'] = type;
  const anonymousId = event['anonymousId'];
  if (
    typeof anonymousId === 'string' &&
    anonymousId.length >= 2 &&
    anonymousId.startsWith('"') &&
    anonymousId.endsWith('"')
  ) {
    event['anonymousId'] = anonymousId.slice(1, -1);
  }
  if (type === 'page' && event['name'] === '') event['name'] = 'Unknown Page';
  if (type === 'track' && (typeof event['event'] !== 'string' || event['event'] === '')) {
    throw new RudderError('invalid_event', 'a pixel track needs a non-empty "event" parameter');
  }
  return { writeKey, event };
}

/** `properties={"plan":"pro"}` style parameters: the whole object in one parameter. */
function parseJsonObject(key: string, value: string, maxDepth: number): unknown {
  const parsed = parseJson(value, maxDepth - 1);
  if (!isObject(parsed))
    throw new RudderError('invalid_request', `query parameter "${key}" must be a JSON object`);
  return parsed;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i]!;
    const next = node[segment];
    if (next === undefined) {
      const created: Record<string, unknown> = {};
      node[segment] = created;
      node = created;
    } else if (isObject(next)) {
      node = next;
    } else {
      throw new RudderError(
        'invalid_request',
        `query parameter "${path.join('.')}" conflicts with "${path.slice(0, i + 1).join('.')}"`,
      );
    }
  }
  const last = path[path.length - 1]!;
  const existing = node[last];
  // `properties={...}` and `properties.x=1` in one URL combine rather than one silently replacing the other.
  if (isObject(existing) && isObject(value)) Object.assign(existing, value);
  else if (isObject(existing)) {
    throw new RudderError(
      'invalid_request',
      `query parameter "${path.join('.')}" conflicts with nested parameters`,
    );
  } else node[last] = value;
}
