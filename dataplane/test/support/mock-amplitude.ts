import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One request the mock received, whatever it answered. */
export interface MockAmplitudeRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; undefined when it was not JSON or was refused before parsing (failNext, 404, 405, 413). */
  body: unknown;
  bytes: number;
  status: number;
  response: Record<string, unknown>;
}

/** A local stand-in for Amplitude's HTTP V2 endpoint. */
export interface MockAmplitude {
  /** The full endpoint URL (`http://127.0.0.1:<port>/2/httpapi`): use it as the Amplitude config's `endpoint`. */
  url: string;
  /** Accepted events in arrival order, without repeats of an `insert_id` (Amplitude deduplicates on it). */
  events: Record<string, unknown>[];
  /** Every request received, in order. */
  requests: MockAmplitudeRequest[];
  /** Answers the next `n` requests with `status` (429, 503, ...) without ingesting anything. */
  failNext(n: number, status: number, options?: { retryAfterSeconds?: number }): void;
  close(): Promise<void>;
}

/** Amplitude asks for request bodies under 1 MB. */
const MAX_BODY_BYTES = 1_000_000;
/** Most events Amplitude accepts in one request. */
const MAX_EVENTS = 2000;
/** Shortest user_id/device_id unless `options.min_id_length` says otherwise. */
const DEFAULT_MIN_ID_LENGTH = 5;

/**
 * Starts the mock on 127.0.0.1 at a random port. It enforces what Amplitude
 * documents for `POST /2/httpapi` (see `validateUpload`) and answers
 * with Amplitude-shaped bodies: 200 `{code, events_ingested,
 * payload_size_bytes, server_upload_time}`, 400 with the missing or invalid
 * fields, 413 over the size limits.
 */
export async function startMockAmplitude(): Promise<MockAmplitude> {
  const events: Record<string, unknown>[] = [];
  const requests: MockAmplitudeRequest[] = [];
  const seenInsertIds = new Set<string>();
  const failures: { status: number; retryAfterSeconds: number | undefined }[] = [];

  const handle = (req: IncomingMessage, raw: Buffer, bytes: number, res: ServerResponse): void => {
    const record = (status: number, response: Record<string, unknown>, body?: unknown): void => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        bytes,
        status,
        response,
      });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(response));
    };
    const failure = failures.shift();
    if (failure !== undefined) {
      if (failure.retryAfterSeconds !== undefined)
        res.setHeader('retry-after', String(failure.retryAfterSeconds));
      return record(failure.status, failureBody(failure.status));
    }
    if (new URL(req.url ?? '/', 'http://mock').pathname !== '/2/httpapi')
      return record(404, { code: 404, error: 'Not found' });
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return record(405, { code: 405, error: 'Method not allowed' });
    }
    if (bytes > MAX_BODY_BYTES) return record(413, { code: 413, error: 'Payload too large' });
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/json') {
      return record(400, { code: 400, error: 'Invalid request: Content-Type must be application/json' });
    }
    let body: unknown;
    try {
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      body = JSON.parse(text.toString('utf8'));
    } catch {
      return record(400, { code: 400, error: 'Invalid JSON request body' });
    }
    const verdict = validateUpload(body);
    if (!verdict.ok) return record(verdict.status, verdict.response, body);
    for (const event of verdict.events) {
      const insertId = event['insert_id'];
      if (typeof insertId === 'string') {
        if (seenInsertIds.has(insertId)) continue;
        seenInsertIds.add(insertId);
      }
      events.push(event);
    }
    record(
      200,
      {
        code: 200,
        events_ingested: verdict.events.length,
        payload_size_bytes: bytes,
        server_upload_time: Date.now(),
      },
      body,
    );
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      // Past the limit the answer is 413 anyway: keep reading (so the client sees the answer), stop storing.
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      size += chunk.length;
    });
    req.on('end', () => handle(req, Buffer.concat(chunks), size, res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/2/httpapi`,
    events,
    requests,
    failNext(n, status, options = {}) {
      for (let i = 0; i < n; i++) failures.push({ status, retryAfterSeconds: options.retryAfterSeconds });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function failureBody(status: number): Record<string, unknown> {
  if (status === 429) {
    return {
      code: 429,
      error: 'Too many requests for some devices and users',
      eps_threshold: 30,
      throttled_devices: {},
      throttled_users: {},
    };
  }
  if (status === 413) return { code: 413, error: 'Payload too large' };
  return { code: status, error: status >= 500 ? 'Internal error, please retry' : 'Request failed' };
}

type Verdict =
  | { ok: true; events: Record<string, unknown>[] }
  | { ok: false; status: number; response: Record<string, unknown> };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The HTTP V2 upload rules, from Amplitude's documentation: `api_key` and a
 * non-empty `events` array are required, at most 2000 events; each event has
 * an `event_type` and a `user_id` or `device_id` of at least
 * `options.min_id_length` (default 5) characters; `time` is an integer of
 * milliseconds; all-zero device ids are refused. Written independently of the
 * destination's code so that it checks the mapping rather than mirroring it.
 */
export function validateUpload(body: unknown): Verdict {
  const bad = (response: Record<string, unknown>): Verdict => ({
    ok: false,
    status: 400,
    response: { code: 400, ...response },
  });
  if (!isObject(body)) return bad({ error: 'Invalid JSON request body' });
  if (typeof body['api_key'] !== 'string' || body['api_key'] === '') {
    return bad({ error: 'Request missing required field', missing_field: 'api_key' });
  }
  const events = body['events'];
  if (!Array.isArray(events) || events.length === 0)
    return bad({ error: 'Request missing required field', missing_field: 'events' });
  if (events.length > MAX_EVENTS)
    return { ok: false, status: 413, response: { code: 413, error: 'Payload too large' } };
  const options = body['options'];
  let minIdLength = DEFAULT_MIN_ID_LENGTH;
  if (options !== undefined) {
    const value = isObject(options) ? options['min_id_length'] : undefined;
    if (!isObject(options) || (value !== undefined && !(Number.isInteger(value) && (value as number) >= 0))) {
      return bad({ error: 'Invalid field', invalid_field: 'options.min_id_length' });
    }
    if (value !== undefined) minIdLength = value as number;
  }

  const invalid: Record<string, number[]> = {};
  const missing: Record<string, number[]> = {};
  const flag = (into: Record<string, number[]>, field: string, index: number): void => {
    (into[field] ??= []).push(index);
  };
  const validId = (v: unknown): boolean => typeof v === 'string' && v.length >= minIdLength;
  events.forEach((event: unknown, i) => {
    if (!isObject(event)) return flag(invalid, 'event', i);
    const type = event['event_type'];
    if (typeof type !== 'string' || type === '') flag(missing, 'event_type', i);
    else if (type.startsWith('[Amplitude]')) flag(invalid, 'event_type', i);
    const { user_id: userId, device_id: deviceId } = event;
    if (userId === undefined && deviceId === undefined) flag(missing, 'user_id or device_id', i);
    if (userId !== undefined && !validId(userId)) flag(invalid, 'user_id', i);
    if (deviceId !== undefined && (!validId(deviceId) || /^[0-]+$/.test(deviceId as string)))
      flag(invalid, 'device_id', i);
    const time = event['time'];
    if (time !== undefined && !(Number.isInteger(time) && (time as number) >= 0)) flag(invalid, 'time', i);
    if (event['insert_id'] !== undefined && typeof event['insert_id'] !== 'string')
      flag(invalid, 'insert_id', i);
    for (const field of ['event_properties', 'user_properties', 'groups', 'group_properties']) {
      if (event[field] !== undefined && !isObject(event[field])) flag(invalid, field, i);
    }
  });
  if (Object.keys(invalid).length > 0 || Object.keys(missing).length > 0) {
    return bad({
      error: 'Request has events with invalid or missing fields',
      ...(Object.keys(invalid).length > 0 ? { events_with_invalid_fields: invalid } : {}),
      ...(Object.keys(missing).length > 0 ? { events_with_missing_fields: missing } : {}),
    });
  }
  return { ok: true, events: events as Record<string, unknown>[] };
}
