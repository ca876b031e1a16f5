/**
 * `make bench`: prints the data plane's figures on this machine, with a real
 * Postgres (durable settings: fsync on) on the same machine.
 *  1. ingestion, single-event POST /v1/track: requests/s, p50/p99 latency
 *  2. ingestion, POST /v1/batch with 20 events: events/s, p50/p99 latency
 *  3. end to end (gateway -> Postgres -> processor -> router -> local webhook sink): events/s,
 *     with the jobs dataset sizes sampled during the run (they must stay flat)
 *  4. scaling (dataplane/bench/scaling.ts, worker processes owning partitions):
 *     end-to-end events/s with 1, 2 and 4 workers, and handoff time with the
 *     fewest events delivered per second during it, under 5,000 events/s
 *  5. the control plane (bench-controlplane.ts): config endpoint requests/s with
 *     1,000 tenants x 10 destinations, and CRUD latencies
 *  6. the operator (e2e/src/bench-operator.ts, on a local kube-apiserver): kubectl
 *     apply to Ready, 200 instances to Ready, reconciles/s and peak memory
 * Every phase is bounded in time and stops by itself. BENCH_PHASES (default
 * dataplane,scaling,controlplane,operator) picks the phases; BENCH_SECONDS sets the
 * length of each load phase.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { startEmbeddedPostgres } from './postgres.ts';
import { startSink } from './sink.ts';
import { startRedis } from './redis.ts';
import { benchControlPlane } from './bench-controlplane.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

const root = join(import.meta.dirname, '..', '..');
const dataDir = join(root, '.data', 'bench');
const DURATION_S = Number(process.env['BENCH_SECONDS'] ?? 10);
const PHASES = new Set((process.env['BENCH_PHASES'] ?? 'dataplane,scaling,controlplane,operator').split(','));
const WRITE_KEY = 'bench-write-key-0001';
const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  rmSync(join(dataDir, 'config.json'), { force: true });
  mkdirSync(dataDir, { recursive: true });
  say('[bench] starting Postgres 18 (fsync on) and a local webhook sink');
  const postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg') });
  const sink = await startSink();
  const configFile = join(dataDir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      workspaces: [
        {
          id: 'bench',
          sources: [{ id: 'src', writeKey: WRITE_KEY }],
          destinations: [
            {
              id: 'hook',
              type: 'webhook',
              config: { url: `${sink.url}/hook`, batching: true, maxBatchSize: 200 },
              delivery: { concurrency: 8 },
            },
          ],
          connections: [{ sourceId: 'src', destinationId: 'hook' }],
        },
      ],
    }),
  );
  const results: string[] = [];
  const redis = await startRedis({ dataDir: join(dataDir, 'redis'), ephemeral: true });
  try {
    if (PHASES.has('dataplane')) await benchDataPlane(postgres.url, configFile, sink, results);
    if (PHASES.has('scaling')) results.push(...(await benchScaling(postgres.url)));
    if (PHASES.has('controlplane'))
      results.push(
        ...(await benchControlPlane({
          databaseUrl: postgres.url,
          redisUrl: redis.url,
          seconds: DURATION_S,
          say,
        })),
      );
  } finally {
    await redis.stop();
    await sink.close();
    await postgres.stop();
  }
  if (PHASES.has('operator')) results.push(...(await benchOperator()));
  say('');
  say('== Rudder benchmark (2 cores, Postgres and Redis on the same machine) ==');
  for (const line of results) say(line);
}

async function benchDataPlane(
  databaseUrl: string,
  configFile: string,
  sink: Awaited<ReturnType<typeof startSink>>,
  results: string[],
): Promise<void> {
  const postgres = { url: databaseUrl };
  {
    // Ingestion alone: a gateway-only data plane, so the figures are the gateway's and Postgres's.
    let plane = await startPlane(postgres.url, 'bench_ingest', configFile, 'gateway');
    const single = await load(plane.url, '/v1/track', trackBody, 64);
    results.push(
      `ingest /v1/track (1 event/request):   ${fmt(single.rps)} req/s   p50 ${single.p50} ms   p99 ${single.p99} ms   errors ${single.errors}`,
    );
    const batch = await load(plane.url, '/v1/batch', batchBody, 32);
    results.push(
      `ingest /v1/batch (20 events/request): ${fmt(batch.rps * 20)} events/s (${fmt(batch.rps)} req/s)   p50 ${batch.p50} ms   p99 ${batch.p99} ms   errors ${batch.errors}`,
    );
    await plane.stop();

    // End to end: role all, sustained ingest while the worker delivers to the sink.
    plane = await startPlane(postgres.url, 'bench_e2e', configFile, 'all');
    sink.clear();
    const e2e = await endToEnd(plane.url, postgres.url, sink);
    results.push(
      `end to end to a local sink:          ${fmt(e2e.eventsPerSecond)} events/s (${e2e.events} events in ${e2e.seconds.toFixed(1)} s)`,
    );
    results.push(
      `jobs dataset rows during the e2e run (gw/rt tables, sampled each second): ${e2e.tableSamples}`,
    );
    await plane.stop();
  }
}

const trackBody = JSON.stringify({
  type: 'track',
  event: 'Bench',
  userId: 'user-1',
  properties: { plan: 'pro', amount: 42 },
});
const batchBody = JSON.stringify({
  batch: Array.from({ length: 20 }, (_, i) => ({
    type: 'track',
    event: 'Bench',
    userId: `user-${i}`,
    properties: { plan: 'pro', amount: i },
  })),
});

async function load(
  base: string,
  path: string,
  body: string,
  connections: number,
): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  say(`[bench] ${path}: ${connections} connections for ${DURATION_S} s`);
  const result = await autocannon({
    url: `${base}${path}`,
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body,
    connections,
    duration: DURATION_S,
  });
  const errors = result.errors + result.non2xx + result.timeouts;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors };
}

async function endToEnd(
  base: string,
  databaseUrl: string,
  sink: Awaited<ReturnType<typeof startSink>>,
): Promise<{ events: number; seconds: number; eventsPerSecond: number; tableSamples: string }> {
  const seconds = DURATION_S * 2;
  say(`[bench] end to end: /v1/batch load for ${seconds} s, then wait for the sink to have every event`);
  const client = new pg.Client({ connectionString: databaseUrl, options: '-c search_path=bench_e2e' });
  await client.connect();
  const samples: string[] = [];
  const sampler = setInterval(() => {
    void client
      .query<{ rows: string }>(
        `SELECT string_agg(s.relname || '=' || s.n_live_tup, ' ' ORDER BY s.relname) AS rows
         FROM pg_stat_user_tables s
         WHERE s.schemaname = 'bench_e2e' AND s.relname ~ '^(gw|rt)_jobs_'`,
      )
      .then((r) => samples.push(`[${r.rows[0]?.rows ?? ''}]`))
      .catch(() => {});
  }, 1000);
  const started = performance.now();
  const result = await autocannon({
    url: `${base}/v1/batch`,
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: batchBody,
    connections: 16,
    duration: seconds,
  });
  const acknowledged = result['2xx'] * 20;
  await waitFor('the sink to receive every acknowledged event', () => sink.count >= acknowledged, {
    timeoutMs: 300_000,
    intervalMs: 100,
  });
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  await client.end();
  const picked = samples.filter((_, i) => i % Math.max(1, Math.floor(samples.length / 8)) === 0);
  return {
    events: acknowledged,
    seconds: elapsed,
    eventsPerSecond: acknowledged / elapsed,
    tableSamples: picked.join(' '),
  };
}

async function startPlane(
  databaseUrl: string,
  schema: string,
  configFile: string,
  role: 'gateway' | 'all',
): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const adminPort = await freePort();
  // A fresh schema per run so earlier runs' backlog does not skew the figures.
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
  const child: ChildProcess = spawn(process.execPath, [join(root, 'dataplane', 'src', 'main.ts')], {
    env: {
      ...process.env,
      RUDDER_ROLE: role,
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      CONFIG_FILE: configFile,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      LOG_LEVEL: 'warn',
      // Small datasets, so the e2e run shows rotation and drops keeping the tables bounded.
      JOBSDB_DATASET_MAX_ROWS: '20000',
      JOBSDB_MAINTENANCE_INTERVAL_MS: '1000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the data plane to be ready', async () => (await fetch(`${url}/ready`)).ok, {
    timeoutMs: 30_000,
  });
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

await main();

/** Runs the operator's benchmark (it needs the e2e harness) as a child; its `RESULT` lines are the figures. */
async function benchOperator(): Promise<string[]> {
  say('[bench] operator: local kube-apiserver, etcd and kube-controller-manager');
  return childBench('operator', 'e2e/src/bench-operator.ts');
}

/** Runs the scaling benchmark (worker processes that own partitions, handoffs under load) as a child. */
async function benchScaling(databaseUrl: string): Promise<string[]> {
  say('[bench] scaling: gateways and 1, 2, 4 worker processes; handoffs under load');
  return childBench('scaling', 'dataplane/bench/scaling.ts', {
    DATABASE_URL: databaseUrl,
    BENCH_SECONDS: String(DURATION_S),
  });
}

/** Runs `script` with Node; the lines it prints as `RESULT <line>` are its figures, the rest is progress. */
async function childBench(name: string, script: string, env: Record<string, string> = {}): Promise<string[]> {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      if (line.startsWith('RESULT ')) lines.push(line.slice('RESULT '.length));
      else if (line) say(line);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) lines.push(`${name} benchmark FAILED (exit ${code})`);
  return lines;
}
