import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, waitFor } from '@rudder/devkit';
import { createLogger, type WorkspaceConfig } from '@rudder/common';
import { ConfigStore } from './config-store.ts';
import { controlPlaneConfigFetcher } from './config-client.ts';
import { HttpConfigSource, type ConfigCache } from './http-config.ts';

const TOKEN = 'dp-secret-token-0123456789';

function workspace(writeKey: string): unknown {
  return { tenantId: 't1', workspaces: [{ id: 'ws', sources: [{ id: 'src', writeKey }] }] };
}

/**
 * A stand-in for the control plane's config endpoint, speaking the protocol
 * the data plane expects: 200 + ETag, 304 to a current If-None-Match after
 * holding the request up to waitSeconds, or a forced status.
 */
interface FakeControlPlane {
  url: string;
  requests: { at: number; headers: IncomingHttpHeaders; url: string }[];
  /** Requests being held open right now. */
  held(): number;
  setConfig(body: unknown, etag: string): number;
  forceStatus(status: number | undefined): void;
  close(): Promise<void>;
}

async function startFakeControlPlane(port = 0): Promise<FakeControlPlane> {
  let current = { text: JSON.stringify(workspace('wk-first-0001')), etag: '"v1"' };
  let forced: number | undefined;
  const requests: FakeControlPlane['requests'] = [];
  const waiting = new Set<{ res: ServerResponse; timer: NodeJS.Timeout }>();
  let answeredAt = 0;
  const answer = (res: ServerResponse): void => {
    answeredAt = Date.now();
    res.writeHead(200, { etag: current.etag, 'content-type': 'application/json' }).end(current.text);
  };
  const server: Server = createServer((req, res) => {
    requests.push({ at: Date.now(), headers: req.headers, url: req.url ?? '' });
    if (forced !== undefined) return void res.writeHead(forced).end('{"error":{"code":"unauthorized"}}');
    if (req.headers['if-none-match'] !== current.etag) return answer(res);
    const wait = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('waitSeconds') ?? 0);
    if (wait === 0) return void res.writeHead(304).end();
    const entry = {
      res,
      timer: setTimeout(() => {
        waiting.delete(entry);
        res.writeHead(304).end();
      }, wait * 1000),
    };
    waiting.add(entry);
    res.on('close', () => {
      clearTimeout(entry.timer);
      waiting.delete(entry);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    held: () => waiting.size,
    setConfig: (body, etag) => {
      current = { text: typeof body === 'string' ? body : JSON.stringify(body), etag };
      for (const entry of waiting) {
        clearTimeout(entry.timer);
        answer(entry.res);
      }
      waiting.clear();
      return answeredAt;
    },
    forceStatus: (status) => {
      forced = status;
    },
    close: async () => {
      for (const entry of waiting) clearTimeout(entry.timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function memoryCache(initial?: WorkspaceConfig): ConfigCache & { saved: WorkspaceConfig[] } {
  let stored = initial;
  const saved: WorkspaceConfig[] = [];
  return {
    saved,
    load: () => Promise.resolve(stored),
    save: (config) => {
      stored = config;
      saved.push(config);
      return Promise.resolve();
    },
  };
}

function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    logger: createLogger('test', {
      level: 'trace',
      destination: { write: (line: string) => lines.push(line) },
    }),
  };
}

const cached: WorkspaceConfig = {
  tenantId: 't1',
  version: 'cached-7',
  workspaces: [
    {
      id: 'ws',
      name: '',
      sources: [{ id: 'src', name: '', writeKey: 'wk-cached-0001', enabled: true, dedupWindowSeconds: 0 }],
      destinations: [],
      connections: [],
      transformations: [],
    },
  ],
};

let cp: FakeControlPlane | undefined;
let source: HttpConfigSource | undefined;

afterEach(async () => {
  await source?.stop();
  await cp?.close();
  source = undefined;
  cp = undefined;
});

function newSource(
  url: string,
  store: ConfigStore,
  cache: ConfigCache,
  extra: Partial<ConstructorParameters<typeof HttpConfigSource>[0]> = {},
): HttpConfigSource {
  return new HttpConfigSource({
    fetch: controlPlaneConfigFetcher({ url, token: TOKEN }),
    store,
    cache,
    logger: createLogger('test', { level: 'silent' }),
    waitSeconds: 30,
    startTimeoutMs: 2_000,
    backoff: { baseMs: 20, maxMs: 50 },
    ...extra,
  });
}

it('installs the control plane config at start, with the token, and caches it with the ETag as version', async () => {
  cp = await startFakeControlPlane();
  const store = new ConfigStore();
  const cache = memoryCache();
  source = newSource(cp.url, store, cache);
  await source.start();
  expect(store.byWriteKey('wk-first-0001')?.source.id).toBe('src');
  expect(store.config?.version).toBe('"v1"');
  expect(cache.saved.map((c) => c.version)).toEqual(['"v1"']);
  expect(cp.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  expect(cp.requests[0]?.url).toBe('/v1/dataplane/config?waitSeconds=0');
  expect(source.state).toBe('synced');
  expect(source.lastSyncAt).toBeInstanceOf(Date);
});

it('long-polls with If-None-Match and applies a change as soon as the server answers', async () => {
  cp = await startFakeControlPlane();
  const store = new ConfigStore();
  source = newSource(cp.url, store, memoryCache());
  await source.start();
  await waitFor('a held long-poll', () => cp!.held() === 1);
  expect(cp.requests.at(-1)?.headers['if-none-match']).toBe('"v1"');
  expect(cp.requests.at(-1)?.url).toBe('/v1/dataplane/config?waitSeconds=30');

  let changedAt = 0;
  store.once('change', () => (changedAt = Date.now()));
  const answeredAt = cp.setConfig(workspace('wk-second-0002'), '"v2"');
  await waitFor('the new config', () => store.config?.version === '"v2"');
  expect(store.byWriteKey('wk-second-0002')).toBeDefined();
  expect(store.byWriteKey('wk-first-0001')).toBeUndefined();
  expect(changedAt - answeredAt).toBeLessThan(250);
  await waitFor('the next long-poll', () => cp!.held() === 1);
  expect(cp.requests.at(-1)?.headers['if-none-match']).toBe('"v2"');
});

it('ignores an invalid config, keeps the previous one, and waits for the next change', async () => {
  cp = await startFakeControlPlane();
  const store = new ConfigStore();
  const cache = memoryCache();
  source = newSource(cp.url, store, cache);
  await source.start();
  await waitFor('a held long-poll', () => cp!.held() === 1);
  const badConfig = {
    workspaces: [{ id: 'ws', connections: [{ sourceId: 'nope', destinationId: 'nope' }] }],
  };
  cp.setConfig(badConfig, '"v2"');
  // Holding a request tagged "v2" shows the bad config was seen and not fetched again in a loop.
  await waitFor('a long-poll on the bad version', () => cp!.held() === 1 && cp!.requests.length === 3);
  expect(cp.requests.at(-1)?.headers['if-none-match']).toBe('"v2"');
  expect(store.config?.version).toBe('"v1"');
  expect(cache.saved.map((c) => c.version)).toEqual(['"v1"']);

  cp.setConfig(workspace('wk-third-0003'), '"v3"');
  await waitFor('the fixed config', () => store.config?.version === '"v3"');
});

it('runs on the cached config while the control plane is down, and syncs once it is back', async () => {
  const port = await freePort();
  const store = new ConfigStore();
  const cache = memoryCache(cached);
  source = newSource(`http://127.0.0.1:${port}`, store, cache);
  await source.start();
  expect(store.config?.version).toBe('cached-7');
  expect(source.state).toBe('unreachable');
  expect(source.lastSyncAt).toBeUndefined();

  cp = await startFakeControlPlane(port);
  await waitFor('the control plane config', () => store.config?.version === '"v1"');
  expect(source.state).toBe('synced');
  expect(cache.saved.at(-1)?.version).toBe('"v1"');
});

it('refuses to start without a control plane answer or a cached config', async () => {
  const port = await freePort();
  const s = newSource(`http://127.0.0.1:${port}`, new ConfigStore(), memoryCache());
  await expect(s.start()).rejects.toThrow(/no workspace config: .*unreachable.*no cached config/);
});

it('logs a refused token without the token, falls back to the cache and backs off', async () => {
  cp = await startFakeControlPlane();
  cp.forceStatus(401);
  const { logger, lines } = capturedLogger();
  const store = new ConfigStore();
  source = newSource(cp.url, store, memoryCache(cached), {
    logger,
    backoff: { baseMs: 100, maxMs: 400 },
    // Full jitter at its ceiling: the delays are exactly 100, 200, 400 ms.
    random: () => 0.999_999,
  });
  await source.start();
  expect(store.config?.version).toBe('cached-7');
  await waitFor('four refused polls', () => cp!.requests.length >= 4, { timeoutMs: 5_000 });
  expect(source.state).toBe('refused');
  const gaps = cp.requests.slice(1, 4).map((r, i) => r.at - cp!.requests[i]!.at);
  // Exponential: 100, 200, 400 ms after the refused start (a few ms of timer slack allowed).
  expect(gaps[0]).toBeGreaterThanOrEqual(95);
  expect(gaps[1]).toBeGreaterThanOrEqual(195);
  expect(gaps[2]).toBeGreaterThanOrEqual(395);
  const log = lines.join('');
  expect(log).toContain('refused the data-plane token');
  expect(log).toContain('"status":401');
  expect(log).not.toContain(TOKEN);

  cp.forceStatus(undefined);
  await waitFor('recovery', () => store.config?.version === '"v1"', { timeoutMs: 5_000 });
});

it('stop() aborts a held long-poll at once', async () => {
  cp = await startFakeControlPlane();
  const s = newSource(cp.url, new ConfigStore(), memoryCache());
  await s.start();
  await waitFor('a held long-poll', () => cp!.held() === 1);
  const started = Date.now();
  await s.stop();
  expect(Date.now() - started).toBeLessThan(1_000);
  expect(s.state).toBe('stopped');
  await waitFor('the server to see the request closed', () => cp!.held() === 0);
});
