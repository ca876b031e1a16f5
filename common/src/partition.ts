import { createHash } from 'node:crypto';

/** Default number of partitions per tenant; always a power of two. */
export const DEFAULT_PARTITIONS = 64;

/**
 * The key that orders a user's events: `userId` when present and non-empty,
 * else `anonymousId`. Every package derives ordering and partitions from this.
 */
export function userKeyOf(event: { userId?: unknown; anonymousId?: unknown }): string {
  const userId = event.userId;
  if (userId !== undefined && userId !== null && String(userId) !== '') return String(userId);
  const anonymousId = event.anonymousId;
  if (anonymousId !== undefined && anonymousId !== null && String(anonymousId) !== '')
    return String(anonymousId);
  return '';
}

/**
 * The partition of a user key: the first four bytes of SHA-256 over the key's
 * UTF-8 bytes, read as an unsigned big-endian integer, modulo `partitions`.
 * Stable across processes, languages and releases; `partitions` must be a power of two.
 */
export function partitionOf(userKey: string, partitions: number = DEFAULT_PARTITIONS): number {
  return partitionOfDigest(userKeyDigest(userKey), partitions);
}

/** SHA-256 of a user key's UTF-8 bytes: hash once, derive the partition and other ids from it. */
export function userKeyDigest(userKey: string): Buffer {
  return createHash('sha256').update(userKey, 'utf8').digest();
}

/** The partition of a user key from its {@link userKeyDigest}. */
export function partitionOfDigest(digest: Buffer, partitions: number = DEFAULT_PARTITIONS): number {
  if (!isPowerOfTwo(partitions)) throw new RangeError(`partitions must be a power of two, got ${partitions}`);
  return digest.readUInt32BE(0) % partitions;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
