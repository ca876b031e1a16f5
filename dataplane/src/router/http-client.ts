import { Agent, request, type Dispatcher } from 'undici';
import type { DeliveryResponse, HttpRequestSpec } from '../destinations/contract.ts';

/** Most response-body bytes kept: enough for any error message, bounded for a hostile endpoint. */
export const MAX_RESPONSE_BODY_BYTES = 64 * 1024;

/** Connection settings of a delivery client. */
export interface HttpClientOptions {
  /** Most open connections per origin (destinations share origins: one Amplitude host for all). */
  connectionsPerOrigin?: number;
  /** How long an idle connection is kept for reuse. */
  keepAliveTimeoutMs?: number;
  /** Time allowed for TCP + TLS setup. */
  connectTimeoutMs?: number;
  /** Response body bytes kept; the rest is discarded. */
  maxResponseBodyBytes?: number;
}

/**
 * Sends delivery requests over pooled keep-alive connections. `send` never
 * throws for network trouble: every outcome comes back as a DeliveryResponse
 * so the retry policy can classify it.
 */
export class HttpClient {
  readonly #agent: Agent;
  readonly #maxBody: number;

  constructor(options: HttpClientOptions = {}) {
    this.#maxBody = options.maxResponseBodyBytes ?? MAX_RESPONSE_BODY_BYTES;
    this.#agent = new Agent({
      connections: options.connectionsPerOrigin ?? 64,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
      connect: { timeout: options.connectTimeoutMs ?? 10_000 },
      // Per-request values below replace these; they guard any request that forgets them.
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
  }

  /**
   * Sends one request; `timeoutMs` bounds the whole exchange, connect to last
   * body byte. `cancel` aborts it early (shutdown); it then counts as a failed attempt.
   */
  async send(spec: HttpRequestSpec, timeoutMs: number, cancel?: AbortSignal): Promise<DeliveryResponse> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
    try {
      const response = await request(spec.url, {
        dispatcher: this.#agent,
        method: spec.method,
        headers: spec.headers,
        body: spec.body ?? null,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = await readCapped(response.body, this.#maxBody);
      return {
        kind: 'response',
        status: response.statusCode,
        headers: flattenHeaders(response.headers),
        body,
      };
    } catch (err) {
      return { kind: 'network-error', ...networkErrorOf(err) };
    }
  }

  /** Closes idle connections and waits for in-flight requests to finish. */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}

async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(buffer);
    size += buffer.length;
    if (size >= max) {
      // Leaving the loop destroys the stream and with it the connection: cheaper than reading a huge body to reuse it.
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/**
 * A stable code for a transport failure: `timeout` for every kind of
 * timeout, the system code (ECONNREFUSED, ECONNRESET, ENOTFOUND, TLS codes)
 * where there is one, else undici's own code.
 */
export function networkErrorOf(err: unknown): { code: string; message: string } {
  // Duck-typed: AbortSignal's DOMException and undici's errors need not share this realm's Error.
  const fields =
    typeof err === 'object' && err !== null
      ? (err as { name?: unknown; message?: unknown; cause?: unknown })
      : {};
  const message = typeof fields.message === 'string' ? fields.message : String(err);
  const name = typeof fields.name === 'string' ? fields.name : '';
  const code = codeOf(err);
  const cause = codeOf(fields.cause);
  if (name === 'TimeoutError' || (code !== undefined && TIMEOUT_CODES.has(code)))
    return { code: 'timeout', message };
  if (name === 'AbortError') return { code: 'aborted', message };
  // "other side closed" and friends: the peer dropped the connection mid-exchange.
  if (code === 'UND_ERR_SOCKET') return { code: cause ?? 'ECONNRESET', message };
  return { code: code ?? cause ?? 'UNKNOWN', message };
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Happy-eyeballs connects fail with an AggregateError of one error per address tried.
  const errors = (err as { errors?: unknown }).errors;
  return Array.isArray(errors) ? codeOf(errors[0]) : undefined;
}
