import { MESSAGE_TYPES, type RudderEvent } from '@rudder/common';
import type { DestinationType, HttpRequestSpec } from '../contract.ts';
import { asRecord } from '../event-fields.ts';
import { webhookConfigSchema, type WebhookConfig } from './config.ts';

/** The User-Agent of every delivery request, so receivers can tell Rudder traffic apart. */
export const USER_AGENT = 'Rudder/0.1';

/**
 * A generic HTTP endpoint that receives events as the platform stores them.
 * Unbatched, each event is the JSON body of its own request; batched, one
 * request carries `{"batch":[...events]}`. With GET there is no body: the
 * event's scalar fields (and those of its `properties` and `traits`) become
 * query parameters.
 */
export const webhookDestination: DestinationType<WebhookConfig> = {
  type: 'webhook',
  displayName: 'Webhook',
  configSchema: webhookConfigSchema,
  supportedMessageTypes: MESSAGE_TYPES,
  delivery: {
    maxBatchSize: 1,
    maxBatchBytes: 4 * 1024 * 1024,
    concurrency: 8,
    timeoutMs: 30_000,
  },

  deliveryFor(config) {
    return { maxBatchSize: config.batching ? config.maxBatchSize : 1 };
  },

  // The receiver gets the event unchanged: the webhook's point is to pass on what was collected.
  transform(event: RudderEvent) {
    return [event];
  },

  buildRequests(items, config) {
    if (config.method === 'GET') return items.map((item) => getRequest(item, config));
    if (config.batching) return [bodyRequest({ batch: items }, config)];
    return items.map((item) => bodyRequest(item, config));
  },
};

/** Lower-cases names so a configured `content-type` replaces ours instead of duplicating it. */
function headersOf(config: WebhookConfig, withBody: boolean): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = value;
  // The body is always JSON; a configured Content-Type would misdescribe it.
  if (withBody) headers['content-type'] = 'application/json';
  return headers;
}

function bodyRequest(body: unknown, config: WebhookConfig): HttpRequestSpec {
  return {
    method: config.method,
    url: config.url,
    headers: headersOf(config, true),
    body: JSON.stringify(body),
  };
}

function getRequest(item: unknown, config: WebhookConfig): HttpRequestSpec {
  const url = new URL(config.url);
  const event = asRecord(item) ?? {};
  const params = url.searchParams;
  const add = (key: string, value: unknown): void => {
    // Top-level fields were added first and win over same-named properties.
    if (params.has(key)) return;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      params.append(key, String(value));
    }
  };
  for (const [key, value] of Object.entries(event)) add(key, value);
  for (const nested of [asRecord(event['properties']), asRecord(event['traits'])]) {
    for (const [key, value] of Object.entries(nested ?? {})) add(key, value);
  }
  return { method: 'GET', url: url.toString(), headers: headersOf(config, false) };
}
