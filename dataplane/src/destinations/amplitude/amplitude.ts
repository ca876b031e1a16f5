import type { DeliveryResponse, DestinationType, HttpRequestSpec } from '../contract.ts';
import { asRecord } from '../event-fields.ts';
import {
  AMPLITUDE_MAX_BODY_BYTES,
  AMPLITUDE_MAX_EVENTS_PER_REQUEST,
  amplitudeConfigSchema,
  endpointOf,
  type AmplitudeConfig,
} from './config.ts';
import { toAmplitudeEvents } from './transform.ts';

/** Room kept for `{"api_key":...,"events":[],"options":...}` around the events. */
const ENVELOPE_RESERVE_BYTES = 1024;

/**
 * Amplitude Analytics through its HTTP V2 API: batches of up to 2000 events
 * (under 1 MB) per request, deduplicated by `insert_id` on Amplitude's side.
 */
export const amplitudeDestination: DestinationType<AmplitudeConfig> = {
  type: 'amplitude',
  displayName: 'Amplitude',
  configSchema: amplitudeConfigSchema,
  supportedMessageTypes: ['track', 'identify', 'page', 'screen', 'group'],
  delivery: {
    maxBatchSize: AMPLITUDE_MAX_EVENTS_PER_REQUEST,
    maxBatchBytes: AMPLITUDE_MAX_BODY_BYTES - ENVELOPE_RESERVE_BYTES,
    concurrency: 4,
    timeoutMs: 30_000,
  },

  transform: toAmplitudeEvents,

  buildRequests(items, config) {
    const url = endpointOf(config);
    return chunkBySize(items, config).map((events) => request(url, events, config));
  },

  classify: classifyAmplitudeResponse,
};

/**
 * Amplitude-specific outcomes: 413 means the request was too big, and a 400
 * that names the offending events rejects the whole request although the
 * other events are fine; both are resolved by resending in smaller requests,
 * which isolates the bad events. Everything else follows the default policy
 * (429 and 5xx retry, other 4xx abort).
 */
export function classifyAmplitudeResponse(response: DeliveryResponse): 'split' | undefined {
  if (response.kind !== 'response') return undefined;
  if (response.status === 413) return 'split';
  if (response.status === 400 && namesEvents(response.body)) return 'split';
  return undefined;
}

function namesEvents(body: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // A truncated or non-JSON body says nothing about single events; the default (abort) applies.
    return false;
  }
  const error = asRecord(parsed);
  return ['events_with_invalid_fields', 'events_with_missing_fields'].some((key) => {
    const byField = asRecord(error?.[key]);
    return (
      byField !== undefined && Object.values(byField).some((ids) => Array.isArray(ids) && ids.length > 0)
    );
  });
}

function request(url: string, events: unknown[], config: AmplitudeConfig): HttpRequestSpec {
  const body = {
    api_key: config.apiKey,
    events,
    ...(config.minIdLength === undefined ? {} : { options: { min_id_length: config.minIdLength } }),
  };
  return {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', accept: '*/*' },
    body: JSON.stringify(body),
  };
}

/**
 * Keeps every request within Amplitude's limits even when the router's batch
 * is larger (e.g. a destination override of maxBatchSize). A single event over
 * the byte limit still gets its own request: Amplitude answers 413 and the
 * event is aborted, instead of it silently vanishing here.
 */
function chunkBySize(items: unknown[], config: AmplitudeConfig): unknown[][] {
  const budget = AMPLITUDE_MAX_BODY_BYTES - envelopeBytes(config);
  const chunks: unknown[][] = [];
  let current: unknown[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item) ?? 'null') + 1; // + the separating comma
    if (current.length > 0 && (current.length >= AMPLITUDE_MAX_EVENTS_PER_REQUEST || bytes + size > budget)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function envelopeBytes(config: AmplitudeConfig): number {
  return Buffer.byteLength(request('', [], config).body ?? '');
}
