import { userKeyDigest } from '@rudder/common';

/**
 * A stable UUID for a user key: the same key always yields the same id, in
 * every process and release, so downstream stages can group a user's events
 * without carrying the raw identifiers.
 *
 * Built like a name-based UUID from SHA-256 of the key's UTF-8 bytes: the first
 * 16 bytes of the digest with the version nibble set to 8 and the RFC 9562
 * variant bits. Version 8 is the RFC's slot for custom hashes (v5 would claim
 * SHA-1). RudderStack hashes `userId:anonymousId` with MD5 instead; we derive
 * from the user key so `rudderId` and the partition agree on who the user is.
 */
export function rudderIdOf(userKey: string): string {
  return rudderIdFromDigest(userKeyDigest(userKey));
}

/** {@link rudderIdOf} from the key's digest, for callers that already hashed it for the partition. */
export function rudderIdFromDigest(digest: Buffer): string {
  const bytes = Buffer.from(digest.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
