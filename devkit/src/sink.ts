import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * A webhook sink: an HTTP server that accepts whatever a destination sends it
 * (any path; POST, PUT, PATCH or GET), remembers it and answers
 * `200 {"ok":true}`, or fails on purpose at configurable rates. `make dev`,
 * tests and benchmarks deliver to it.
 *
 * Control routes (everything else is the webhook):
 * - `GET /_events[?limit=N]`: `{ count, events }`, the last N (default 1000) events received.
 * - `DELETE /_events`: forget everything received.
 * - `POST /_failure?failureRate=0.5&timeoutRate=0[&failStatus=400]`: change the failure rates.
 */

/** One request the sink accepted (answered 200). */
export interface ReceivedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON (gzip undone); the raw text when it is not JSON; null when empty. */
  body: unknown;
  /** When it arrived (ms since the epoch). */
  at: number;
}

export interface FailureRates {
  /** Share of requests answered 500 or 503 (0..1). */
  failureRate?: number;
  /** Share of requests held open without an answer, so the client times out (0..1). */
  timeoutRate?: number;
  /** Status the failing share is answered with (e.g. 400 to test aborts); 0 or absent: 500 or 503. */
  failStatus?: number;
}

export interface SinkOptions extends FailureRates {
  /** Port on 127.0.0.1; 0 or absent for a free one. */
  port?: number;
  /** Source of randomness for the failure decisions (tests pass a deterministic one). */
  random?: () => number;
  /** Print one short line per accepted event to stdout. */
  log?: boolean;
}

export interface SinkStats {
  /** Webhook requests seen, whatever their fate. */
  requests: number;
  accepted: number;
  /** Answered 500/503 on purpose. */
  failed: number;
  /** Held open on purpose and not yet given up by the client. */
  held: number;
  /** TCP connections accepted (few, when clients keep connections alive). */
  connections: number;
}

export interface Sink {
  url: string;
  port: number;
  /** Accepted requests, oldest first. Failed and held requests are not in here. */
  received: ReceivedRequest[];
  /** Events of the accepted requests: `{batch:[...]}` and array bodies flattened, single-event bodies as is. */
  events(): unknown[];
  /** Number of events accepted (`events().length`, without the copy). */
  readonly count: number;
  stats(): SinkStats;
  setFailure(rates: FailureRates): void;
  /** Resolves with the events once at least `n` were accepted; rejects after `timeoutMs`. */
  waitForEvents(n: number, timeoutMs?: number): Promise<unknown[]>;
  /** Forgets what was received (counters of failed/held requests too). */
  clear(): void;
  /** Stops listening and drops every connection, held requests included. */
  close(): Promise<void>;
}

const OK_BODY = Buffer.from('{"ok":true}');
const OK_HEADERS = { 'content-type': 'application/json', 'content-length': String(OK_BODY.length) };

interface Waiter {
  n: number;
  resolve: (events: unknown[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Starts a webhook sink on 127.0.0.1. */
export async function startSink(options: SinkOptions = {}): Promise<Sink> {
  const random = options.random ?? Math.random;
  const rates: Required<FailureRates> = { failureRate: 0, timeoutRate: 0, failStatus: 0 };
  applyRates(rates, options);
  const received: ReceivedRequest[] = [];
  let events: unknown[] = [];
  const counters = { requests: 0, failed: 0, connections: 0 };
  const held = new Set<ServerResponse>();
  let waiters: Waiter[] = [];
  let closed = false;

  const settleWaiters = (): void => {
    if (waiters.length === 0) return;
    waiters = waiters.filter((w) => {
      if (events.length < w.n) return true;
      clearTimeout(w.timer);
      w.resolve(events.slice());
      return false;
    });
  };

  const accept = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    const body = parseBody(raw, req.headers['content-encoding']);
    const request: ReceivedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body,
      at: Date.now(),
    };
    received.push(request);
    const added = eventsOf(body);
    for (const event of added) events.push(event);
    if (options.log && added.length > 0) process.stdout.write(logLines(request, added));
    res.writeHead(200, OK_HEADERS).end(OK_BODY);
    settleWaiters();
  };

  const webhook = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    counters.requests++;
    const draw = random();
    if (draw < rates.timeoutRate) {
      // Never answered: the client's timeout fires, or close() drops the socket.
      held.add(res);
      res.once('close', () => held.delete(res));
      return;
    }
    if (draw < rates.timeoutRate + rates.failureRate) {
      counters.failed++;
      // By default both statuses a flaky destination answers: the lower half of the band gets 500.
      const status = rates.failStatus || (draw < rates.timeoutRate + rates.failureRate / 2 ? 500 : 503);
      sendJson(res, status, { ok: false, error: 'failure injected by the sink' });
      return;
    }
    accept(req, res, raw);
  };

  const control = (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    if (url.pathname === '/_events' && req.method === 'GET') {
      const asked = Number(url.searchParams.get('limit') ?? 1000);
      const limit = Number.isInteger(asked) && asked >= 0 ? asked : 1000;
      sendJson(res, 200, { count: events.length, events: limit === 0 ? [] : events.slice(-limit) });
      return true;
    }
    if (url.pathname === '/_events' && req.method === 'DELETE') {
      sink.clear();
      sendJson(res, 200, { ok: true });
      return true;
    }
    if (url.pathname === '/_failure' && req.method === 'POST') {
      try {
        sink.setFailure({
          failureRate: Number(url.searchParams.get('failureRate') ?? rates.failureRate),
          timeoutRate: Number(url.searchParams.get('timeoutRate') ?? rates.timeoutRate),
          failStatus: Number(url.searchParams.get('failStatus') ?? rates.failStatus),
        });
        sendJson(res, 200, { ok: true, ...rates });
      } catch (err) {
        sendJson(res, 400, { ok: false, error: (err as Error).message });
      }
      return true;
    }
    return false;
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A client that hangs up mid-request is not the sink's problem; the socket is gone already.
    req.on('error', () => {});
    req.on('end', () => {
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const path = req.url ?? '/';
      if (path.startsWith('/_') && control(req, res, new URL(path, 'http://sink'))) return;
      webhook(req, res, raw);
    });
  });
  // Longer than any client's idle keep-alive, so the sink never closes a socket a client is about to reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', () => counters.connections++);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => process.stderr.write(`[sink] server error: ${err.message}\n`));
  const port = (server.address() as AddressInfo).port;

  const sink: Sink = {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    events: () => events.slice(),
    get count() {
      return events.length;
    },
    stats: () => ({
      requests: counters.requests,
      accepted: received.length,
      failed: counters.failed,
      held: held.size,
      connections: counters.connections,
    }),
    setFailure: (next) => applyRates(rates, next),
    waitForEvents: (n, timeoutMs = 10_000) => {
      if (events.length >= n) return Promise.resolve(events.slice());
      if (closed) return Promise.reject(new Error('sink is closed'));
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          n,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters = waiters.filter((w) => w !== waiter);
            reject(new Error(`sink got ${events.length} of ${n} events within ${timeoutMs} ms`));
          }, timeoutMs),
        };
        waiters.push(waiter);
      });
    },
    clear: () => {
      received.length = 0;
      events = [];
      counters.requests = 0;
      counters.failed = 0;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(new Error('sink closed before the events arrived'));
      }
      waiters = [];
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive sockets and held requests would otherwise keep the server (and the process) alive.
      server.closeAllConnections();
      held.clear();
      await stopped;
    },
  };
  return sink;
}

/** Events in a webhook body: `{batch:[...]}` and arrays flattened, an object is one event. */
export function eventsOf(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (typeof body !== 'object' || body === null) return [];
  const batch = (body as { batch?: unknown }).batch;
  return Array.isArray(batch) ? batch : [body];
}

function applyRates(rates: Required<FailureRates>, next: FailureRates): void {
  const merged = { ...rates };
  if (next.failStatus !== undefined) {
    const ok =
      next.failStatus === 0 ||
      (Number.isInteger(next.failStatus) && next.failStatus >= 400 && next.failStatus <= 599);
    if (!ok)
      throw new RangeError(`failStatus must be 0 or an HTTP error status (400..599), got ${next.failStatus}`);
    merged.failStatus = next.failStatus;
  }
  for (const key of ['failureRate', 'timeoutRate'] as const) {
    const value = next[key];
    if (value === undefined) continue;
    if (!(value >= 0 && value <= 1)) throw new RangeError(`${key} must be between 0 and 1, got ${value}`);
    merged[key] = value;
  }
  if (merged.failureRate + merged.timeoutRate > 1) {
    throw new RangeError('failureRate + timeoutRate must not exceed 1');
  }
  Object.assign(rates, merged);
}

function parseBody(raw: Buffer, encoding: string | undefined): unknown {
  if (raw.length === 0) return null;
  let bytes = raw;
  if (encoding === 'gzip') {
    try {
      bytes = gunzipSync(raw);
    } catch {
      // Not gzip after all: keep the bytes as sent, so the test that sent them can see them.
    }
  }
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': String(bytes.length) })
    .end(bytes);
}

/** `[sink] 12:00:01.234 POST /demo track "Order Completed" user=u1` for each event. */
function logLines(request: ReceivedRequest, events: unknown[]): string {
  const time = new Date(request.at).toISOString().slice(11, 23);
  let out = '';
  for (const event of events) {
    const e = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
    const name = e['event'] ?? e['name'];
    const who = e['userId'] ?? e['anonymousId'];
    const parts = [
      `[sink] ${time} ${request.method} ${request.path}`,
      typeof e['type'] === 'string' ? e['type'] : 'event',
      typeof name === 'string' ? JSON.stringify(name) : '',
      typeof who === 'string' || typeof who === 'number' ? `user=${who}` : '',
    ];
    out += parts.filter(Boolean).join(' ') + '\n';
  }
  return out;
}
