import type { z } from 'zod';
import type { MessageType, RudderEvent } from '@rudder/common';

/**
 * The contract every destination type implements: a pure mapping from events
 * to the destination's HTTP requests plus the rules for delivering them. The
 * router owns everything with side effects (sending, retrying, throttling).
 */

/** One HTTP request, ready to send. */
export interface HttpRequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  /** Already serialized; absent for requests without a body (GET). */
  body?: string;
}

/** How the router delivers to a destination type unless the destination overrides it. */
export interface DeliveryDefaults {
  /** Most items in one batch handed to `buildRequests`; 1 means no batching. */
  maxBatchSize: number;
  /** Most bytes (sum of the items' JSON) in one batch. */
  maxBatchBytes: number;
  /** Requests in flight at once per destination. */
  concurrency: number;
  /** Items per second per destination; absent means unthrottled. */
  rateLimitPerSecond?: number;
  /** Overall time budget of one request, connect to last body byte. */
  timeoutMs: number;
}

/**
 * What came back from one delivery attempt. Transport failures are values,
 * not exceptions, so the retry policy sees every outcome the same way.
 */
export type DeliveryResponse =
  | {
      kind: 'response';
      status: number;
      /** Lower-case names; repeated headers joined with `, `. */
      headers: Record<string, string>;
      /** At most the first 64 KiB of the body, decoded as UTF-8. */
      body: string;
    }
  | {
      kind: 'network-error';
      /** `timeout`, `ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`, ... */
      code: string;
      message: string;
    };

/**
 * The decision for a delivered request:
 * - `success`: done;
 * - `retry`: send the same request again later (backoff);
 * - `abort`: it can never succeed; its items go to the failed-events store;
 * - `split`: the request as a whole was refused but some of its items may be
 *   fine (too large, or a per-event rejection): resend the items in smaller
 *   requests; for a single-item request this means `abort`.
 */
export type Classification = 'success' | 'retry' | 'abort' | 'split';

/** A destination type of the catalog. `C` is its parsed config. */
export interface DestinationType<C> {
  /** Catalog key, e.g. `webhook`, `amplitude`. */
  type: string;
  displayName: string;
  /** Validates `DestinationConfig.config`; its output is what the other members receive. */
  configSchema: z.ZodType<C>;
  supportedMessageTypes: readonly MessageType[];
  delivery: DeliveryDefaults;
  /**
   * Delivery settings that follow from a destination's config (e.g. the
   * webhook batches only when asked to). Applied over `delivery`, under the
   * destination's own overrides.
   */
  deliveryFor?(config: C): Partial<DeliveryDefaults>;
  /**
   * Pure mapping of one event to zero or more JSON-serializable items; `[]`
   * means nothing to send. Throws `TransformError` for events that cannot be
   * mapped.
   */
  transform(event: RudderEvent, config: C): unknown[];
  /** Builds the HTTP request(s) for a batch of items (1..maxBatchSize, in order). */
  buildRequests(items: unknown[], config: C): HttpRequestSpec[];
  /** Overrides the default classification; `undefined` falls back to it. */
  classify?(response: DeliveryResponse): Classification | undefined;
}
