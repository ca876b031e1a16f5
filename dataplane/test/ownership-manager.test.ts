import type pg from 'pg';
import { Registry } from 'prom-client';
import { createTestSchema, waitFor } from '@rudder/devkit';
import { createLogger } from '@rudder/common';
import { createPool, inTransaction } from '@rudder/common/pg';
import { computePartitionMap, type PartitionMap, type WorkerReport } from '@rudder/common/partition-map';
import { JobsDb } from '../src/jobsdb/index.ts';
import { createWorkerMetrics } from '../src/metrics.ts';
import {
  FencedError,
  LeaseStore,
  listLeases,
  OwnershipManager,
  type PartitionMapSource,
  type ReportSink,
} from '../src/ownership/index.ts';

/**
 * The ownership manager against a real Postgres, with the test publishing
 * the partition map (the operator's part) and reading the reports.
 */

const P = 8;
const LEASE_MS = 1_500;
let schema: Awaited<ReturnType<typeof createTestSchema>>;
let db: JobsDb;
let pool: pg.Pool;
const managers: OwnershipManager[] = [];

beforeEach(async () => {
  schema = await createTestSchema('owner');
  db = new JobsDb({
    url: schema.url,
    schema: schema.schema,
    poolSize: 4,
    partitions: P,
    gatewayBatch: { maxEvents: 100, maxBytes: 1 << 20 },
    maintenance: { datasetMaxRows: 1000, datasetMaxAgeSeconds: 3600 },
  });
  await db.migrate();
  pool = createPool({ url: schema.url, schema: schema.schema, max: 8 });
});

afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
  await pool.end();
  await db.close();
  await schema.drop();
});

/** The map channel a test plays the operator on: every worker's source sees each map published. */
class MapChannel {
  private readonly listeners = new Set<(map: PartitionMap) => void>();
  private map: PartitionMap | undefined;

  publish(map: PartitionMap): void {
    this.map = map;
    for (const listener of this.listeners) listener(map);
  }

  source(): PartitionMapSource {
    let mine: ((map: PartitionMap) => void) | undefined;
    return {
      start: async (onMap) => {
        mine = onMap;
        this.listeners.add(onMap);
        if (this.map) onMap(this.map);
      },
      stop: async () => {
        if (mine) this.listeners.delete(mine);
      },
    };
  }
}

class Reports implements ReportSink {
  readonly all: WorkerReport[] = [];
  get last(): WorkerReport | undefined {
    return this.all[this.all.length - 1];
  }
  async write(report: WorkerReport): Promise<void> {
    this.all.push(report);
  }
}

interface Worker {
  manager: OwnershipManager;
  reports: Reports;
  metrics: Registry;
  store: LeaseStore;
}

async function startWorker(
  ordinal: number,
  maps: MapChannel,
  incarnation = `inc${ordinal}`,
): Promise<Worker> {
  const registry = new Registry();
  const metrics = createWorkerMetrics(registry);
  const reports = new Reports();
  const workerId = `worker-${ordinal}`;
  const store = new LeaseStore({ pool, owner: `${workerId}/${incarnation}`, ttlMs: LEASE_MS });
  const manager = new OwnershipManager({
    store,
    source: maps.source(),
    sink: reports,
    workerId,
    incarnation,
    ordinal,
    partitions: P,
    leaseMs: LEASE_MS,
    acquirePollMs: 20,
    reportIntervalMs: 200,
    logger: createLogger('test', { level: 'silent' }),
    metrics: metrics.ownership,
  });
  managers.push(manager);
  await manager.start();
  return { manager, reports, metrics: registry, store };
}

const all = Array.from({ length: P }, (_, p) => p);
const mapFor = (previous: PartitionMap | undefined, replicas: number): PartitionMap =>
  computePartitionMap(previous, P, replicas);
const owned = (map: PartitionMap, ordinal: number): number[] => all.filter((p) => map.owners[p] === ordinal);

async function owners(): Promise<(string | null)[]> {
  return (await listLeases(pool)).map((l) => l.owner);
}

/** The sum of a metric's values with `labels` (for a histogram, of its `<name><suffix>` series). */
async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
  suffix = '',
): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const values = (m?.values ?? []) as {
    value: number;
    labels: Record<string, string | number>;
    metricName?: string;
  }[];
  return values
    .filter((v) => (v.metricName ?? name) === `${name}${suffix}`)
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

it('takes every partition the map assigns, reports itself settled at that epoch, and releases all on stop', async () => {
  const maps = new MapChannel();
  const map1 = mapFor(undefined, 1);
  maps.publish(map1);
  const w0 = await startWorker(0, maps);
  expect(w0.manager.partitions()).toEqual(all);
  await waitFor('a settled report', () => w0.reports.last?.settled);
  expect(w0.reports.last).toMatchObject({
    worker: 'worker-0',
    incarnation: 'inc0',
    epoch: 1,
    held: all,
    acquiring: [],
    releasing: [],
  });
  expect(await owners()).toEqual(all.map(() => 'worker-0/inc0'));
  expect(await metric(w0.metrics, 'rudder_partitions_held')).toBe(P);
  expect(await metric(w0.metrics, 'rudder_partition_settle_seconds', {}, '_count')).toBe(1);

  await w0.manager.stop();
  expect(await owners()).toEqual(all.map(() => null));
  expect(w0.reports.last).toMatchObject({ epoch: 1, held: [], acquiring: [], releasing: [], settled: false });
  expect(await metric(w0.metrics, 'rudder_partition_lease_releases_total')).toBe(P);
});

it('moves partitions on a new epoch: the old owner drops them at once and the new one acquires them', async () => {
  const maps = new MapChannel();
  const map1 = mapFor(undefined, 1);
  maps.publish(map1);
  const w0 = await startWorker(0, maps);
  const w1 = await startWorker(1, maps);
  expect(w1.manager.partitions()).toEqual([]);

  const map2 = mapFor(map1, 2);
  maps.publish(map2);
  // Acting on the new map is synchronous: the moved partitions are out of the old owner's rounds at once.
  expect(w0.manager.partitions()).toEqual(owned(map2, 0));
  await waitFor('the new owner to hold its partitions', () =>
    w1.manager.partitions().join() === owned(map2, 1).join() ? true : undefined,
  );
  await waitFor(
    'both to report settled at epoch 2',
    () => w0.reports.last?.settled && w1.reports.last?.settled,
  );
  expect(w0.reports.last).toMatchObject({ epoch: 2, held: owned(map2, 0) });
  expect(w1.reports.last).toMatchObject({ epoch: 2, held: owned(map2, 1) });
  expect(await owners()).toEqual(map2.owners.map((o) => `worker-${o}/inc${o}`));
  // The partitions kept move to the new epoch at their next renewal.
  await waitFor('every lease at epoch 2', async () => (await listLeases(pool)).every((l) => l.epoch === 2));
  expect(await metric(w0.metrics, 'rudder_partition_handoffs_total', { direction: 'out' })).toBe(P / 2);
  expect(await metric(w1.metrics, 'rudder_partition_handoffs_total', { direction: 'in' })).toBe(P / 2);
});

it('releases a moved partition only once the rounds working on it have ended; the new owner waits for that', async () => {
  const maps = new MapChannel();
  const map1 = mapFor(undefined, 1);
  maps.publish(map1);
  const w0 = await startWorker(0, maps);
  const w1 = await startWorker(1, maps);
  const map2 = mapFor(map1, 2);
  const moving = owned(map2, 1);
  const [slow, ...rest] = moving;
  // Counts the new owner's tries at the busy partition.
  let tries = 0;
  const acquire = w1.store.acquire.bind(w1.store);
  w1.store.acquire = async (partitions, epoch) => {
    if (partitions.includes(slow!)) tries++;
    return acquire(partitions, epoch);
  };

  // A round (a delivery, say) still works on one moving partition when the map changes.
  const round = w0.manager.enter([slow!, owned(map2, 0)[0]!]);
  maps.publish(map2);
  expect(w0.manager.partitions()).not.toContain(slow);
  await waitFor('the idle moved partitions to reach the new owner', () =>
    rest.every((p) => w1.manager.partitions().includes(p)),
  );
  // Several tries later the busy one is still the old owner's, being released.
  const before = tries;
  await waitFor('the new owner to try the busy partition again and again', () => tries >= before + 5);
  expect(w1.manager.partitions()).not.toContain(slow);
  expect((await listLeases(pool))[slow!]!.owner).toBe('worker-0/inc0');
  expect(w0.manager.report()).toMatchObject({ releasing: [slow], settled: false });
  expect(w1.manager.report()).toMatchObject({ acquiring: [slow], settled: false });

  // Moved, but still held until released: the round may finish what it started.
  expect(round.valid()).toBe(true);
  round.leave();
  await waitFor('the new owner to take the partition once its round ended', () =>
    w1.manager.partitions().includes(slow!),
  );
  expect(w0.manager.report()).toMatchObject({ releasing: [], settled: true });
});

it('takes over the partitions of a crashed worker (no release) only after its leases expired', async () => {
  const maps = new MapChannel();
  const map1 = mapFor(undefined, 1);
  // The crashed process: it took the leases and never released them.
  const crashed = new LeaseStore({ pool, owner: 'worker-0/dead', ttlMs: LEASE_MS });
  expect(await crashed.acquire(all, 1)).toEqual(all);
  const expiry = Math.max(...(await listLeases(pool)).map((l) => l.expiresAt!.getTime()));

  // Its restart is a new incarnation: it inherits nothing.
  maps.publish(map1);
  const w0 = await startWorker(0, maps, 'inc-restarted');
  expect(w0.manager.partitions()).toEqual([]);
  expect(w0.manager.report()).toMatchObject({ acquiring: all, held: [] });
  await waitFor(
    'the restarted worker to take the expired leases',
    () => w0.manager.partitions().length === P,
    {
      timeoutMs: 10_000,
    },
  );
  const acquiredAt = await pool.query<{ at: Date }>('SELECT min(acquired_at) AS at FROM partition_leases');
  expect(acquiredAt.rows[0]!.at.getTime()).toBeGreaterThanOrEqual(expiry);
  expect(await owners()).toEqual(all.map(() => 'worker-0/inc-restarted'));
});

it('drops a partition at once when its renewal finds it taken, and when the fence refuses a commit', async () => {
  const maps = new MapChannel();
  maps.publish(mapFor(undefined, 1));
  const w0 = await startWorker(0, maps);
  expect(w0.manager.partitions()).toEqual(all);

  // Someone else holds partition 2 now (an operator fixing things by hand, a split brain): the next renewal sees it.
  await pool.query(
    `UPDATE partition_leases SET owner = 'intruder/x', expires_at = now() + interval '1 hour' WHERE partition_id = 2`,
  );
  await waitFor('partition 2 to be dropped', () => !w0.manager.partitions().includes(2));
  expect(await metric(w0.metrics, 'rudder_partition_leases_lost_total', { reason: 'taken' })).toBe(1);

  // The fence refuses a commit on partition 5: the manager stops handing it out before any renewal,
  // and a round still running on it learns it should send nothing more.
  const round = w0.manager.enter([4, 5]);
  expect(round.valid()).toBe(true);
  await pool.query(
    `UPDATE partition_leases SET owner = 'intruder/x', expires_at = now() + interval '1 hour' WHERE partition_id = 5`,
  );
  const err = await inTransaction(pool, (client) => w0.manager.fence('router')(client, [4, 5])).catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FencedError);
  expect(w0.manager.partitions()).not.toContain(5);
  expect(w0.manager.partitions()).toContain(4);
  expect(round.valid()).toBe(false);
  expect(w0.manager.enter([4]).valid()).toBe(true);
  round.leave();
  expect(await metric(w0.metrics, 'rudder_partition_fenced_commits_total', { stage: 'router' })).toBe(1);
  expect(w0.manager.report()).toMatchObject({ acquiring: [2, 5], settled: false });

  // Given back, they are taken again.
  await pool.query(`UPDATE partition_leases SET owner = NULL WHERE partition_id IN (2, 5)`);
  await waitFor('partitions 2 and 5 to be held again', () => w0.manager.partitions().length === P);
});

it('ignores a map for another partition count and a map older than the current one', async () => {
  const maps = new MapChannel();
  const map1 = mapFor(undefined, 1);
  const map2 = mapFor(map1, 2);
  maps.publish(map2);
  const w0 = await startWorker(0, maps);
  expect(w0.manager.partitions()).toEqual(owned(map2, 0));
  maps.publish(map1);
  maps.publish({ ...computePartitionMap(map2, P * 2, 1), epoch: 9 });
  expect(w0.manager.report()).toMatchObject({ epoch: 2, held: owned(map2, 0) });
});
