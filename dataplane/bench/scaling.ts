/**
 * The scaling figures for `make bench` (run by devkit/src/bench.ts as a child
 * process; prints `RESULT <line>` for each figure). One tenant's data plane as
 * local processes (two gateways, N workers with the file partition map), a
 * local webhook sink, and Postgres at DATABASE_URL (bench.ts passes its own;
 * run alone, this script starts an embedded one under .data/bench-scaling):
 *  1. end-to-end events/s (acknowledged at a gateway -> delivered at the sink)
 *     with 1, 2 and 4 worker processes: BENCH_SECONDS of load as fast as the
 *     gateways take it, then until the sink has every acknowledged event;
 *  2. what the workers alone deliver: a backlog of 60,000 events queued while
 *     they own nothing, then drained by 1, 2 and 4 workers (events/s from the
 *     map to the last delivery);
 *  3. handoff time (map published -> every worker of the map reports the epoch
 *     and settled) for 2 -> 4 and 4 -> 2 workers under a steady offered load of
 *     BENCH_SCALING_RATE (default 5,000) events/s, and the fewest events the
 *     sink received in any 1-second window during each handoff.
 * Every run is also checked (per-user order, nothing acknowledged missing).
 * BENCH_SCALING_PARTS (throughput,drain,handoff) and BENCH_SCALING_WORKERS
 * (1,2,4) narrow it down.
 * Bounded: every wait has a deadline, a watchdog ends a stuck run, and every
 * process is stopped on the way out, failure included.
 */
import { join } from 'node:path';
import pg from 'pg';
import {
  checkSequences,
  startEmbeddedPostgres,
  startPacedLoad,
  startSink,
  waitFor,
  type PacedLoad,
  type Sink,
} from '@rudder/devkit';
import { dataPlaneEnv, writeWebhookConfig, type TestConfig } from '../test/support/harness.ts';
import { TenantCluster, type Handoff } from '../test/support/tenant-cluster.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const HANDOFF_RATE = Number(process.env['BENCH_SCALING_RATE'] ?? 5_000);
/** Which measurements to run (all by default), and with how many workers. */
const PARTS = new Set((process.env['BENCH_SCALING_PARTS'] ?? 'throughput,drain,handoff').split(','));
const WORKER_COUNTS = (process.env['BENCH_SCALING_WORKERS'] ?? '1,2,4').split(',').map(Number);
const PARTITIONS = 64;
const USERS = 5_000;
/** Consecutive events of one user per request, like an SDK's batch. */
const EVENTS_PER_REQUEST = 20;
/** The backlog the drain runs deliver. */
const DRAIN_EVENTS = 60_000;
const WATCHDOG_MS = 10 * 60_000;

const say = (line: string): void => console.log(`[bench scaling] ${line}`);
const result = (line: string): void => console.log(`RESULT ${line}`);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Tenant {
  cluster: TenantCluster;
  sink: Sink;
  config: TestConfig;
  schema: string;
}

const open = new Set<Tenant>();
let databaseUrl = process.env['DATABASE_URL'];
let postgres: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;

async function startTenant(schema: string): Promise<Tenant> {
  await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  const sink = await startSink();
  const config = await writeWebhookConfig({
    url: sink.url,
    batching: true,
    maxBatchSize: 200,
    delivery: { concurrency: 8 },
  });
  const env = await dataPlaneEnv({ url: databaseUrl!, schema }, config.path, {
    LOG_LEVEL: 'warn',
    DATABASE_POOL_SIZE: '8',
    JOBSDB_DATASET_MAX_ROWS: '50000',
    JOBSDB_MAINTENANCE_INTERVAL_MS: '1000',
  });
  const cluster = new TenantCluster({ env, partitions: PARTITIONS, leaseSeconds: 10 });
  const tenant = { cluster, sink, config, schema };
  open.add(tenant);
  await cluster.start();
  return tenant;
}

async function stopTenant(t: Tenant): Promise<void> {
  open.delete(t);
  await t.cluster.dispose();
  await t.sink.close();
  await t.config.dispose();
  await sql(`DROP SCHEMA IF EXISTS ${t.schema} CASCADE`).catch(() => {});
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Sink events per 100 ms bucket, from the arrival time of each accepted request. */
function deliveredTimeline(sink: Sink): { start: number; buckets: number[] } {
  const start = sink.received[0]?.at ?? Date.now();
  const buckets: number[] = [];
  for (const r of sink.received) {
    const i = Math.floor((r.at - start) / 100);
    while (buckets.length <= i) buckets.push(0);
    const body = r.body as { batch?: unknown[] } | null;
    buckets[i]! += Array.isArray(body?.batch) ? body.batch.length : 1;
  }
  return { start, buckets };
}

/** Fewest events delivered in any 1-second window inside [from, to] (one window from `from` when shorter). */
function minPerSecond(sink: Sink, from: number, to: number): number {
  const { start, buckets } = deliveredTimeline(sink);
  const first = Math.floor((from - start) / 100);
  const last = Math.max(first, Math.floor((to - start) / 100) - 10);
  let min = Number.POSITIVE_INFINITY;
  for (let i = first; i <= last; i++) {
    let sum = 0;
    for (let k = i; k < i + 10; k++) sum += buckets[k] ?? 0;
    min = Math.min(min, sum);
  }
  return min;
}

async function throughput(workers: number): Promise<void> {
  const t = await startTenant(`bench_scaling_w${workers}`);
  try {
    await t.cluster.scaleTo(workers);
    await Promise.all([t.cluster.startGateway(), t.cluster.startGateway()]);
    say(`${workers} worker(s): load for ${SECONDS} s as fast as the gateways take it`);
    const load = startPacedLoad({
      urls: t.cluster.gateways.map((g) => g.gatewayUrl),
      writeKey: t.config.writeKey,
      users: USERS,
      eventsPerSecond: 1_000_000,
      eventsPerRequest: EVENTS_PER_REQUEST,
      maxInFlight: 32,
    });
    const started = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    await load.stop();
    const acked = load.acked.size;
    await waitFor('the sink to have every acknowledged event', () => t.sink.count >= acked, {
      timeoutMs: 300_000,
      intervalMs: 50,
    });
    const seconds = (performance.now() - started) / 1000;
    result(
      `scaling: end to end with ${workers} worker${workers === 1 ? ' ' : 's'}:     ${fmt(acked / seconds)} events/s ` +
        `(${fmt(acked)} acknowledged events delivered in ${seconds.toFixed(1)} s; ingest ${fmt(acked / SECONDS)} events/s; ` +
        `${verdict(t.sink, load)})`,
    );
  } finally {
    await stopTenant(t);
  }
}

/**
 * What the workers alone deliver: a backlog is queued while they own nothing,
 * then the map gives them every partition, and the clock runs from the map to
 * the last event at the sink (the gateways are idle meanwhile).
 */
async function drain(workers: number): Promise<void> {
  const t = await startTenant(`bench_scaling_d${workers}`);
  try {
    await t.cluster.startIdleWorkers(workers);
    await Promise.all([t.cluster.startGateway(), t.cluster.startGateway()]);
    const load = startPacedLoad({
      urls: t.cluster.gateways.map((g) => g.gatewayUrl),
      writeKey: t.config.writeKey,
      users: USERS,
      eventsPerSecond: 1_000_000,
      eventsPerRequest: EVENTS_PER_REQUEST,
      maxInFlight: 32,
    });
    await waitFor('the backlog to be queued', () => load.acked.size >= DRAIN_EVENTS, {
      timeoutMs: 300_000,
      intervalMs: 20,
    });
    await load.stop();
    const queued = load.acked.size;
    const handoff = await t.cluster.scaleTo(workers);
    await waitFor('the sink to have the backlog', () => t.sink.count >= queued, {
      timeoutMs: 300_000,
      intervalMs: 20,
    });
    const seconds = (Date.now() - handoff.publishedAt) / 1000;
    result(
      `scaling: backlog drain with ${workers} worker${workers === 1 ? ' ' : 's'}:   ${fmt(queued / seconds)} events/s ` +
        `(${fmt(queued)} queued events, map to last delivery ${seconds.toFixed(1)} s; ${verdict(t.sink, load)})`,
    );
  } finally {
    await stopTenant(t);
  }
}

function verdict(sink: Sink, load: PacedLoad): string {
  const report = checkSequences(sink.events(), load.acked, load.sent);
  return report.missing.length === 0 && report.orderViolations.length === 0
    ? 'every user in order, nothing missing'
    : `CHECK FAILED: ${report.missing.length} missing, ${report.orderViolations.length} out of order`;
}

async function handoffs(): Promise<void> {
  const t = await startTenant('bench_scaling_handoff');
  try {
    await t.cluster.scaleTo(2);
    await Promise.all([t.cluster.startGateway(), t.cluster.startGateway()]);
    say(`handoffs under a steady ${fmt(HANDOFF_RATE)} events/s: 2 -> 4 -> 2 workers`);
    const load = startPacedLoad({
      urls: t.cluster.gateways.map((g) => g.gatewayUrl),
      writeKey: t.config.writeKey,
      users: USERS,
      eventsPerSecond: HANDOFF_RATE,
      eventsPerRequest: EVENTS_PER_REQUEST,
      maxInFlight: 64,
    });
    const steady = (): Promise<unknown> => new Promise((r) => setTimeout(r, 3_000));
    const runs: Handoff[] = [];
    await steady();
    // Scale up: the new workers start first; the handoff is timed from the map on, as the operator sees it.
    runs.push(await t.cluster.scaleTo(4));
    await steady();
    runs.push(await t.cluster.scaleTo(2));
    await steady();
    await load.stop();
    const acked = load.acked.size;
    await waitFor('the sink to have every acknowledged event', () => t.sink.count >= acked, {
      timeoutMs: 300_000,
      intervalMs: 50,
    });
    const perSecond = load.ackedPerSecond();
    const offered = perSecond.slice(1, -1);
    const report = checkSequences(t.sink.events(), load.acked, load.sent);
    for (const h of runs) {
      const min = minPerSecond(t.sink, h.publishedAt, h.publishedAt + h.settledMs);
      result(
        `scaling: handoff ${h.from} -> ${h.to} workers at ${fmt(HANDOFF_RATE)} events/s offered: ${(h.settledMs / 1000).toFixed(2)} s ` +
          `map to settled (${h.moved} of ${PARTITIONS} partitions moved${h.releasedMs === undefined ? '' : `, released in ${(h.releasedMs / 1000).toFixed(2)} s`}); ` +
          `fewest delivered in a 1 s window during it: ${fmt(min)} events`,
      );
    }
    result(
      `scaling: handoff run acknowledged ${fmt(Math.min(...offered))}-${fmt(Math.max(...offered))} events/s per second ` +
        `(${fmt(acked)} in all); ${verdict(t.sink, load)}; duplicates ${report.duplicates}`,
    );
  } finally {
    await stopTenant(t);
  }
}

async function main(): Promise<void> {
  if (databaseUrl === undefined) {
    say('no DATABASE_URL: starting an embedded Postgres (fsync on)');
    postgres = await startEmbeddedPostgres({ dataDir: join(ROOT, '.data', 'bench-scaling', 'pg') });
    databaseUrl = postgres.url;
  }
  if (PARTS.has('throughput')) for (const workers of WORKER_COUNTS) await throughput(workers);
  if (PARTS.has('drain')) for (const workers of WORKER_COUNTS) await drain(workers);
  if (PARTS.has('handoff')) await handoffs();
}

async function cleanUp(): Promise<void> {
  for (const t of [...open]) await stopTenant(t).catch(() => {});
  await postgres?.stop();
}

const watchdog = setTimeout(() => {
  console.error(`[bench scaling] still running after ${WATCHDOG_MS / 1000} s: stopping`);
  void cleanUp().finally(() => process.exit(1));
}, WATCHDOG_MS);
watchdog.unref();

try {
  await main();
} catch (err) {
  console.error(`[bench scaling] failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
  clearTimeout(watchdog);
}
