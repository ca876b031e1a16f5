import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { createTestSchema, eventsOf, waitFor } from '@rudder/devkit';
import { partitionOf } from '@rudder/common';
import {
  computePartitionMap,
  parseWorkerReport,
  type PartitionMap,
  type WorkerReport,
} from '@rudder/common/partition-map';
import {
  checkDelivery,
  dataPlaneEnv,
  ensureStopped,
  exitWithin,
  FAST_RETRIES_NEVER_ABORT,
  spawnDataPlane,
  startLoad,
  type ChildDataPlane,
} from './support/harness.ts';

/**
 * Fencing with real worker processes: worker A owns every partition under
 * load, is paused (SIGSTOP) in the middle of a delivery round for longer than
 * its lease, the map moves half the partitions to worker B, B takes them over
 * and delivers, then A resumes. A must commit nothing for the partitions that
 * moved (its fence refuses the round it was in), deliver nothing for them
 * after it resumes, and every acknowledged event must still arrive, each
 * user's in order. Each worker delivers with its own `x-worker` header, so
 * the sink knows who sent what.
 */

const P = 16;
const LEASE_SECONDS = 2;
const WRITE_KEY = `wk-fence-${Math.random().toString(36).slice(2, 10)}`;

interface Arrival {
  at: number;
  worker: string;
  messageId: string;
  user: string;
}

/** A webhook sink that records every event on arrival and, while closed, holds its answers back. */
async function startGatedSink(): Promise<{
  url: string;
  arrivals: Arrival[];
  events(): unknown[];
  close(): void;
  open(): void;
  heldFrom(worker: string): number;
  stop(): Promise<void>;
}> {
  const arrivals: Arrival[] = [];
  const events: unknown[] = [];
  let held: { res: ServerResponse; worker: string }[] = [];
  let closed = false;
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  };
  const server = createServer((req, res) => {
    // Arrival is when the request starts: one a worker began sending before a pause counts as sent before it.
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const worker = String(req.headers['x-worker'] ?? '?');
      for (const e of eventsOf(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown)) {
        const ev = e as { messageId: string; userId: string };
        events.push(e);
        arrivals.push({ at, worker, messageId: ev.messageId, user: ev.userId });
      }
      if (closed) held.push({ res, worker });
      else answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    events: () => events,
    close: () => {
      closed = true;
    },
    open: () => {
      closed = false;
      for (const h of held) answer(h.res);
      held = [];
    },
    heldFrom: (worker) => held.filter((h) => h.worker === worker).length,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function workspace(sinkUrl: string, worker: string): unknown {
  return {
    tenantId: 'fencing',
    version: '1',
    workspaces: [
      {
        id: 'ws',
        sources: [{ id: 'src', writeKey: WRITE_KEY }],
        destinations: [
          {
            id: 'hook',
            type: 'webhook',
            config: {
              url: `${sinkUrl}/hook`,
              batching: true,
              maxBatchSize: 20,
              headers: { 'x-worker': worker },
            },
            delivery: { timeoutMs: 30_000 },
          },
        ],
        connections: [{ sourceId: 'src', destinationId: 'hook' }],
      },
    ],
  };
}

/** Publishes `map` the way the operator's ConfigMap update reaches a file: a whole new file, renamed into place. */
async function publish(dir: string, map: PartitionMap): Promise<void> {
  await writeFile(join(dir, 'map.json.tmp'), JSON.stringify(map));
  await rename(join(dir, 'map.json.tmp'), join(dir, 'map.json'));
}

async function status(dir: string, worker: string): Promise<WorkerReport | undefined> {
  try {
    return parseWorkerReport(await readFile(join(dir, `status-${worker}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

async function metric(dp: ChildDataPlane, name: string): Promise<number> {
  const res = await request(`${dp.adminUrl}/metrics`);
  const text = await res.body.text();
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
  return sum;
}

/** Per-partition cursors, sampled while the test runs: they may only move forward. */
function watchCursors(client: pg.Client): { regressions: string[]; stop(): Promise<void> } {
  const last = new Map<string, number>();
  const regressions: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const rows = await client.query<{ key: string; job_id: string }>(
        `SELECT 'gw/' || partition_id AS key, job_id FROM gw_cursor
         UNION ALL SELECT 'rt/' || destination_id || '/' || partition_id, job_id FROM rt_cursor`,
      );
      for (const r of rows.rows) {
        const now = Number(r.job_id); // bigint: a string from this plain client
        const before = last.get(r.key);
        if (before !== undefined && now < before) regressions.push(`${r.key}: ${before} -> ${now}`);
        last.set(r.key, now);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    regressions,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Ingested jobs with more than one delivery job (there is one destination and no replay in this test). */
async function handedOffTwice(client: pg.Client): Promise<number[]> {
  const datasets = await client.query<{ idx: number }>(`SELECT idx FROM datasets WHERE kind = 'rt'`);
  const all = datasets.rows.map((d) => `SELECT gw_job_id FROM rt_jobs_${d.idx}`).join(' UNION ALL ');
  const twice = await client.query<{ gw_job_id: number }>(
    `SELECT gw_job_id FROM (${all}) j GROUP BY gw_job_id HAVING count(*) > 1 ORDER BY gw_job_id LIMIT 10`,
  );
  return twice.rows.map((r) => r.gw_job_id);
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

it('a worker paused past its lease commits and delivers nothing for the partitions that moved meanwhile', async () => {
  const started = Date.now();
  const db = await createTestSchema('fencing');
  cleanup.push(() => db.drop());
  const sink = await startGatedSink();
  cleanup.push(() => sink.stop());
  const dir = await mkdtemp(join(tmpdir(), 'rudder-fencing-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'workspace-a.json'), JSON.stringify(workspace(sink.url, 'worker-0')));
  await writeFile(join(dir, 'workspace-b.json'), JSON.stringify(workspace(sink.url, 'worker-1')));
  const map1 = computePartitionMap(undefined, P, 1);
  await publish(dir, map1);

  const shared = {
    ...FAST_RETRIES_NEVER_ABORT,
    PARTITIONS: String(P),
    PARTITION_MAP_SOURCE: 'file',
    PARTITION_MAP_DIR: dir,
    PARTITION_LEASE_SECONDS: String(LEASE_SECONDS),
    PARTITION_ACQUIRE_POLL_MS: '100',
  };
  const envA = await dataPlaneEnv(db, join(dir, 'workspace-a.json'), { ...shared, WORKER_ID: 'worker-0' });
  const envB = await dataPlaneEnv(db, join(dir, 'workspace-b.json'), { ...shared, WORKER_ID: 'worker-1' });
  const a = await spawnDataPlane(envA);
  cleanup.push(() => ensureStopped(a));
  const b = await spawnDataPlane(envB);
  cleanup.push(() => ensureStopped(b));
  await waitFor(
    'worker-0 to hold every partition',
    async () => (await status(dir, 'worker-0'))?.held.length === P,
  );
  expect(await status(dir, 'worker-1')).toMatchObject({ epoch: 1, held: [], settled: true });

  const observer = new pg.Client({ connectionString: db.url, options: `-c search_path=${db.schema}` });
  await observer.connect();
  cleanup.push(() => observer.end());
  const cursors = watchCursors(observer);
  cleanup.push(() => cursors.stop());

  // Worker B's gateway takes the load the whole time (gateways are stateless): only the workers are under test.
  const load = startLoad({
    url: b.gatewayUrl,
    writeKey: WRITE_KEY,
    users: 300,
    eventsPerRequest: 2,
    concurrency: 16,
    retryDelayMs: 50,
  });
  cleanup.push(() => load.stop());
  const fromA = (): number => sink.arrivals.filter((x) => x.worker === 'worker-0').length;
  await waitFor('worker-0 to deliver under load', () => load.acked.size >= 2_000 && fromA() >= 1_000, {
    timeoutMs: 30_000,
  });

  // Pause A while a delivery round of it is in flight (the sink holds its answer), then let the answer go.
  sink.close();
  // Every delivery lane of A waits on an answer (the count holds still): A is not halfway through sending one.
  let held = 0;
  let since = Date.now();
  await waitFor('the deliveries of worker-0 in flight to be held', () => {
    const now = sink.heldFrom('worker-0');
    if (now !== held) [held, since] = [now, Date.now()];
    return held > 0 && Date.now() - since >= 300;
  });
  a.kill('SIGSTOP');
  const stoppedAt = Date.now();
  sink.open();
  await waitFor(
    "worker-0's leases to expire",
    async () =>
      (
        await observer.query(
          `SELECT 1 FROM partition_leases WHERE owner LIKE 'worker-0/%' AND expires_at > now()`,
        )
      ).rowCount === 0,
    { timeoutMs: 10_000 },
  );

  const map2 = computePartitionMap(map1, P, 2);
  const moved = new Set(map2.owners.flatMap((o, p) => (o === 1 ? [p] : [])));
  await publish(dir, map2);
  await waitFor(
    'worker-1 to take the moved partitions over',
    async () => {
      const s = await status(dir, 'worker-1');
      return s?.epoch === 2 && s.settled && s.held.length === moved.size;
    },
    { timeoutMs: 10_000 },
  );
  const movedUser = (user: string): boolean => moved.has(partitionOf(user, P));
  const fromBMoved = (): number =>
    sink.arrivals.filter((x) => x.worker === 'worker-1' && movedUser(x.user)).length;
  await waitFor('worker-1 to deliver the moved partitions', () => fromBMoved() >= 300, { timeoutMs: 20_000 });
  const ackedAtResume = load.acked.size;

  a.kill('SIGCONT');
  const resumedAt = Date.now();
  await waitFor(
    'worker-0 to settle on the partitions it kept',
    async () => {
      const s = await status(dir, 'worker-0');
      return (
        s?.epoch === 2 && s.settled && s.held.every((p) => !moved.has(p)) && s.held.length === P - moved.size
      );
    },
    { timeoutMs: 15_000 },
  );
  await waitFor('more load after the resume', () => load.acked.size >= ackedAtResume + 1_000, {
    timeoutMs: 20_000,
  });
  await load.stop();

  let report = checkDelivery(sink.events(), load.acked);
  await waitFor(
    'every acknowledged event at the sink',
    () => (report = checkDelivery(sink.events(), load.acked)).missing.length === 0,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const fenced = await metric(a, 'rudder_partition_fenced_commits_total');
  const lateFromA = sink.arrivals.filter(
    (x) => x.worker === 'worker-0' && x.at >= resumedAt && movedUser(x.user),
  );
  // A duplicate is an event whose first delivery was never recorded: A's round cut short by the pause.
  const firstArrival = new Map<string, Arrival>();
  const arrivals = new Map<string, number>();
  for (const x of sink.arrivals) {
    if (!firstArrival.has(x.messageId)) firstArrival.set(x.messageId, x);
    arrivals.set(x.messageId, (arrivals.get(x.messageId) ?? 0) + 1);
  }
  const unexplained = [...arrivals]
    .filter(([, n]) => n > 1)
    .map(([id]) => firstArrival.get(id)!)
    .filter((x) => x.worker !== 'worker-0' || x.at >= stoppedAt);
  const doubleHandOff = await handedOffTwice(observer);
  process.stderr.write(
    `[fencing] ${load.acked.size} acknowledged; paused worker-0 ${resumedAt - stoppedAt} ms; moved ${moved.size} partitions; ` +
      `worker-0 fenced commits ${fenced}; arrivals ${report.arrivals}, unique ${report.unique}, duplicates ${report.duplicates}; ` +
      `${Date.now() - started} ms\n`,
  );

  expect(report.missing).toEqual([]);
  expect(report.orderViolations).toEqual([]);
  expect(report.unknown).toBe(0);
  // The round A was in when paused reached its commit and was refused; its logs say so.
  expect(fenced).toBeGreaterThanOrEqual(1);
  expect(a.output()).toMatch(/fenced: partition lease lost/);
  // After the resume, A sent nothing for a moved partition: no stale round started on them.
  expect(lateFromA.map((x) => x.messageId).slice(0, 10)).toEqual([]);
  expect(unexplained.map((x) => `${x.messageId} first from ${x.worker}`).slice(0, 10)).toEqual([]);
  // In the database: no ingested job was handed to delivery twice, and no cursor ever went back.
  expect(doubleHandOff).toEqual([]);
  await cursors.stop();
  expect(cursors.regressions).toEqual([]);

  // Both drain and hand their leases back.
  a.kill('SIGTERM');
  b.kill('SIGTERM');
  expect(await exitWithin(a, 20_000)).toEqual({ code: 0, signal: null });
  expect(await exitWithin(b, 20_000)).toEqual({ code: 0, signal: null });
  const leftover = await observer.query(`SELECT partition_id FROM partition_leases WHERE owner IS NOT NULL`);
  expect(leftover.rows).toEqual([]);
}, 120_000);
