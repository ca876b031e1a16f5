import { request, type Dispatcher } from 'undici';

/** What one request to the control plane's config endpoint came back with. */
export type ConfigPoll =
  /** 200: the whole config (unparsed JSON text) and its ETag. */
  | { kind: 'changed'; etag: string | undefined; text: string }
  /** 304: the config is still the one named by the ETag sent. */
  | { kind: 'unchanged' }
  /** 401/403: the control plane does not accept the token. */
  | { kind: 'refused'; status: number }
  /** Anything else: network error, timeout, other status. */
  | { kind: 'failed'; reason: string };

export interface ConfigPollRequest {
  /** ETag of the config the data plane runs on, sent as `If-None-Match`. */
  etag: string | undefined;
  /** How long the server may hold the request waiting for a change. */
  waitSeconds: number;
  /** Give up after this long (a bit more than `waitSeconds`). */
  timeoutMs: number;
  signal: AbortSignal;
}

/** The transport of the config long-poll; a function so the source's logic can be tested without HTTP. */
export type FetchConfig = (req: ConfigPollRequest) => Promise<ConfigPoll>;

/**
 * `GET {url}/v1/dataplane/config?waitSeconds=N` with the data-plane token,
 * `If-None-Match` once there is an ETag. Never throws: every outcome is a
 * {@link ConfigPoll}. The token goes in the header only, never in a result.
 */
export function controlPlaneConfigFetcher(options: {
  url: string;
  token: string;
  dispatcher?: Dispatcher;
}): FetchConfig {
  return async ({ etag, waitSeconds, timeoutMs, signal }) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token}`,
      accept: 'application/json',
    };
    if (etag !== undefined) headers['if-none-match'] = etag;
    try {
      const res = await request(`${options.url}/v1/dataplane/config?waitSeconds=${waitSeconds}`, {
        method: 'GET',
        headers,
        // The timeout signal also covers connecting, which undici's own timeouts do not.
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      if (res.statusCode === 200) {
        const tag = res.headers['etag'];
        return { kind: 'changed', etag: Array.isArray(tag) ? tag[0] : tag, text: await res.body.text() };
      }
      await res.body.dump();
      if (res.statusCode === 304) return { kind: 'unchanged' };
      if (res.statusCode === 401 || res.statusCode === 403)
        return { kind: 'refused', status: res.statusCode };
      return { kind: 'failed', reason: `HTTP ${res.statusCode}` };
    } catch (err) {
      return { kind: 'failed', reason: describe(err) };
    }
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : `${err.name}: ${err.message}`;
  }
  return String(err);
}
