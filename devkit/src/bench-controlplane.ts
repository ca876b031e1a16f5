/**
 * The control plane's figures for `make bench`:
 *  1. the data-plane config endpoint with 1,000 tenants x 10 destinations in
 *     the database: requests/s when every request is an ETag hit (304), and
 *     when every request fetches a whole config (200);
 *  2. p50/p99 latency of the main CRUD endpoints.
 * The control plane runs as its own process on a fresh schema; the tenants are
 * seeded with SQL (the API would take minutes to create 10,000 destinations).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

const root = join(import.meta.dirname, '..', '..');
const SCHEMA = 'bench_controlplane';
const TENANTS = 1000;
const DESTINATIONS_PER_TENANT = 10;

export async function benchControlPlane(options: {
  databaseUrl: string;
  redisUrl: string;
  seconds: number;
  say: (line: string) => void;
}): Promise<string[]> {
  const { say } = options;
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();

  const cp = await startControlPlane(options.databaseUrl, options.redisUrl);
  const results: string[] = [];
  try {
    say(`[bench] seeding ${TENANTS} tenants x ${DESTINATIONS_PER_TENANT} destinations`);
    const tokens = await seed(options.databaseUrl);

    // Every tenant's current ETag, as its data plane would hold it after its first fetch.
    const etags = await Promise.all(
      tokens.map(async (token) => {
        const res = await fetch(`${cp.url}/v1/dataplane/config`, {
          headers: { authorization: `Bearer ${token}` },
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`config fetch answered ${res.status}`);
        return res.headers.get('etag')!;
      }),
    );

    const hits = await rotating(cp.url, tokens, etags, options.seconds, say, 'ETag hits (304)');
    if (hits.non304 > 0) throw new Error(`${hits.non304} config requests were not 304`);
    results.push(
      `config endpoint, ETag hits (304), ${TENANTS} tenants:   ${fmt(hits.rps)} req/s   p50 ${hits.p50} ms   p99 ${hits.p99} ms`,
    );
    const full = await rotating(cp.url, tokens, undefined, options.seconds, say, 'full configs (200)');
    results.push(
      `config endpoint, full config (200, 10 destinations): ${fmt(full.rps)} req/s   p50 ${full.p50} ms   p99 ${full.p99} ms`,
    );

    const crud = await crudLatencies(cp.url, options.seconds, say);
    for (const line of crud) results.push(line);
  } finally {
    await cp.stop();
  }
  return results;
}

async function seed(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${SCHEMA}` });
  await client.connect();
  const tokens: string[] = [];
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO tenants (id, name) SELECT 'bench-' || i, 'Bench ' || i FROM generate_series(1, $1) i`,
      [TENANTS],
    );
    await client.query(
      `INSERT INTO workspaces (tenant_id, id, name) SELECT 'bench-' || i, 'ws_bench_' || i, 'Main' FROM generate_series(1, $1) i`,
      [TENANTS],
    );
    await client.query(
      `INSERT INTO sources (tenant_id, workspace_id, id, name, write_key)
       SELECT 'bench-' || i, 'ws_bench_' || i, 'src_bench_' || i, 'Web', md5('wk' || i) FROM generate_series(1, $1) i`,
      [TENANTS],
    );
    await client.query(
      `INSERT INTO destinations (tenant_id, workspace_id, id, name, type, config)
       SELECT 'bench-' || i, 'ws_bench_' || i, 'dst_bench_' || i || '_' || d, 'Hook ' || d, 'webhook',
              jsonb_build_object('url', 'https://hooks.example.com/' || i || '/' || d, 'headers', jsonb_build_object('x-team', 'growth'))
       FROM generate_series(1, $1) i, generate_series(1, $2) d`,
      [TENANTS, DESTINATIONS_PER_TENANT],
    );
    await client.query(
      `INSERT INTO connections (tenant_id, workspace_id, id, source_id, destination_id)
       SELECT 'bench-' || i, 'ws_bench_' || i, 'con_bench_' || i || '_' || d, 'src_bench_' || i, 'dst_bench_' || i || '_' || d
       FROM generate_series(1, $1) i, generate_series(1, $2) d`,
      [TENANTS, DESTINATIONS_PER_TENANT],
    );
    for (let i = 1; i <= TENANTS; i++) {
      const token = `rdr_dp_${randomBytes(32).toString('base64url')}`;
      tokens.push(token);
      await client.query(
        'INSERT INTO dataplane_tokens (id, tenant_id, name, token_hash) VALUES ($1, $2, $3, $4)',
        [`dpt_bench_${i}`, `bench-${i}`, 'bench', createHash('sha256').update(token).digest()],
      );
    }
    await client.query('COMMIT');
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
  return tokens;
}

/** Config requests cycling through every tenant's token (and ETag, for hits). */
async function rotating(
  base: string,
  tokens: string[],
  etags: string[] | undefined,
  seconds: number,
  say: (line: string) => void,
  what: string,
): Promise<{ rps: number; p50: number; p99: number; non304: number }> {
  say(`[bench] config endpoint, ${what}: 32 connections for ${seconds} s`);
  let next = 0;
  const result = await autocannon({
    url: `${base}/v1/dataplane/config`,
    connections: 32,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          const i = next++ % tokens.length;
          const headers: Record<string, string> = { authorization: `Bearer ${tokens[i]!}` };
          if (etags) headers['if-none-match'] = etags[i]!;
          return { ...req, headers };
        },
      },
    ],
  });
  const ok = etags ? (result.statusCodeStats?.['304']?.count ?? 0) : result['2xx'];
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non304: result.requests.total - ok,
  };
}

/** p50/p99 of the CRUD calls a UI or Terraform provider makes most, on a tenant with a few dozen objects. */
async function crudLatencies(base: string, seconds: number, say: (line: string) => void): Promise<string[]> {
  const call = async <T>(method: string, path: string, token?: string, body?: unknown): Promise<T> => {
    const res = await fetch(base + path, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const signup = await call<{ accessToken: string }>('POST', '/v1/auth/signup', undefined, {
    email: `bench-${randomBytes(4).toString('hex')}@example.com`,
    password: randomBytes(16).toString('hex'),
  });
  const token = signup.accessToken;
  const onboarding = await call<{ tenantId: string; jobId: string }>('POST', '/v1/tenants', token, {
    name: 'Bench CRUD',
  });
  const tenantId = onboarding.tenantId;
  await waitFor(
    'the onboarding job to finish',
    async () =>
      (await call<{ state: string }>('GET', `/v1/jobs/${onboarding.jobId}`, token)).state === 'completed',
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const workspaces = await call<{ workspaces: { id: string }[] }>(
    'GET',
    `/v1/tenants/${tenantId}/workspaces`,
    token,
  );
  const ws = workspaces.workspaces[0]!.id;
  const prefix = `/v1/tenants/${tenantId}/workspaces/${ws}`;
  for (let i = 0; i < 20; i++) await call('POST', `${prefix}/sources`, token, { name: `Source ${i}` });
  const destination = await call<{ id: string }>('POST', `${prefix}/destinations`, token, {
    name: 'Hook',
    type: 'webhook',
    config: { url: 'https://hooks.example.com/x' },
  });

  const cases: { label: string; method: 'GET' | 'POST' | 'PATCH'; path: string; body?: () => string }[] = [
    { label: 'GET  list sources (20)        ', method: 'GET', path: `${prefix}/sources` },
    {
      label: 'GET  one destination          ',
      method: 'GET',
      path: `${prefix}/destinations/${destination.id}`,
    },
    {
      label: 'POST create source            ',
      method: 'POST',
      path: `${prefix}/sources`,
      body: () => JSON.stringify({ name: `Load ${randomBytes(3).toString('hex')}` }),
    },
    {
      label: 'PATCH update destination config',
      method: 'PATCH',
      path: `${prefix}/destinations/${destination.id}`,
      body: () =>
        JSON.stringify({ config: { url: `https://hooks.example.com/${randomBytes(3).toString('hex')}` } }),
    },
  ];
  const lines: string[] = [];
  const perCase = Math.max(3, Math.round(seconds / 2));
  for (const c of cases) {
    say(`[bench] CRUD ${c.label.trim()}: 8 connections for ${perCase} s`);
    const result = await autocannon({
      url: base + c.path,
      connections: 8,
      duration: perCase,
      requests: [
        {
          method: c.method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(c.body ? { setupRequest: (req) => ({ ...req, body: c.body!() }) } : {}),
        },
      ],
    });
    const errors = result.non2xx + result.errors;
    lines.push(
      `CRUD ${c.label}  ${fmt(result.requests.average)} req/s   p50 ${result.latency.p50} ms   p99 ${result.latency.p99} ms   errors ${errors}`,
    );
  }
  return lines;
}

async function startControlPlane(
  databaseUrl: string,
  redisUrl: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(root, 'controlplane', 'src', 'main.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: SCHEMA,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `bench-${randomBytes(3).toString('hex')}`,
      JWT_SECRET: randomBytes(32).toString('hex'),
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'the control plane to be ready',
    async () => (await fetch(`${url}/ready`).catch(() => undefined))?.ok === true,
    {
      timeoutMs: 30_000,
    },
  );
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
