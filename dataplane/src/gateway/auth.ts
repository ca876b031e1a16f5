import { RudderError } from '@rudder/common';
import type { ResolvedSource, SourceDirectory } from './types.ts';

/**
 * The write key from an `Authorization: Basic base64(writeKey:)` header.
 *
 * Returns `undefined` when there is no header or it uses another scheme
 * (Segment's OAuth sends `Bearer` with the write key in the body), so the
 * caller can fall back to a body or query write key. The password is ignored
 * and the colon is optional: Segment documents both as accepted. A Basic header
 * that does not decode to a non-empty username is refused (401).
 */
export function writeKeyFromAuthorization(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon < 0 ? decoded : decoded.slice(0, colon);
  if (username === '') throw new RudderError('unauthorized', 'Authorization header carries no write key');
  return username;
}

/**
 * The source behind a write key: 401 when the key is missing or unknown,
 * 404 `source_disabled` when the source exists but is switched off (the
 * RudderStack gateway answers disabled sources the same way, so SDKs stop
 * retrying instead of queueing forever).
 */
export function authenticate(sources: SourceDirectory, writeKey: string | undefined): ResolvedSource {
  if (writeKey === undefined || writeKey === '') {
    throw new RudderError('unauthorized', 'missing write key: send it as the Basic auth username');
  }
  const found = sources.byWriteKey(writeKey);
  if (found === undefined) throw new RudderError('unauthorized', 'unknown write key');
  if (!found.source.enabled)
    throw new RudderError('source_disabled', 'the source of this write key is disabled');
  return found;
}
