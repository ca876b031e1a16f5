import { partitionOf } from '@rudder/common';
import { computePartitionMap, type PartitionMap } from '@rudder/common/partition-map';
import {
  checkSequences,
  startPacedLoad,
  waitFor,
  type LeaseRow,
  type PacedLoad,
  type SequenceReport,
} from '@rudder/devkit';
import { Scenario } from './support/harness.ts';
import { TenantCluster, type Handoff } from './support/tenant-cluster.ts';

/**
 * Scaling under load, with real processes: one tenant, two gateways, and
 * workers that own partitions through Postgres leases, with the test playing
 * the operator (it writes the partition map and starts or stops workers in the
 * contract's order). The replica count goes 1 -> 3 -> 5 -> 2 -> 1 while
 * thousands of users send numbered sequences, and one worker is killed with
 * SIGKILL in the middle of a handoff and restarted under the same id, as a
 * StatefulSet does. At the sink every user's events must arrive in order with
 * no gap, every acknowledged event must arrive, and duplicates must stay within
 * what the crashed worker had in flight.
 */

const PARTITIONS = 16;
const LEASE_SECONDS = 3;
/** Fresh delivery jobs a router round reads per partition (ROUTER_JOBS_PER_PARTITION). */
const JOBS_PER_PARTITION = 100;
/** Events per webhook request. */
const MAX_BATCH_SIZE = 50;
const USERS = 3_000;

const scenario = new Scenario();
let cluster: TenantCluster | undefined;
let load: PacedLoad | undefined;
afterEach(async () => {
  // Every step runs even when an earlier one fails: a failed test must not leave processes behind.
  const steps = [() => load?.stop(), () => cluster?.dispose(), () => scenario.dispose()];
  const failures: unknown[] = [];
  for (const step of steps) await Promise.resolve(step()).catch((err: unknown) => failures.push(err));
  load = undefined;
  cluster = undefined;
  if (failures.length > 0) throw failures[0];
});

it('keeps every user in order and loses no acknowledged event while workers go 1 -> 3 -> 5 -> 2 -> 1, one killed with SIGKILL mid-handoff', async () => {
  const started = Date.now();
  const timeline: string[] = [];
  const mark = (what: string): void =>
    void timeline.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  const { env, sink, config } = await scenario.setUp('scaling', {
    // A few failed deliveries, so retry state and the ordering barrier are handed over too.
    sink: { failureRate: 0.02 },
    // A delivery timeout far above the sink's answer time: a request the sink accepted but the router gave up
    // on would be a duplicate outside the crash, which the checks below would (rightly) count against it.
    webhook: {
      batching: true,
      maxBatchSize: MAX_BATCH_SIZE,
      delivery: { timeoutMs: 10_000, concurrency: 4 },
    },
    env: {
      ROUTER_JOBS_PER_PARTITION: String(JOBS_PER_PARTITION),
      DATABASE_POOL_SIZE: '4',
      JOBSDB_DATASET_MAX_ROWS: '20000',
      JOBSDB_MAINTENANCE_INTERVAL_MS: '500',
    },
  });
  const c = (cluster = new TenantCluster({ env, partitions: PARTITIONS, leaseSeconds: LEASE_SECONDS }));
  await c.start();
  const handoffs: Handoff[] = [await c.scaleTo(1)];
  await Promise.all([c.startGateway(), c.startGateway()]);
  mark('gateways up');
  const l = (load = startPacedLoad({
    urls: c.gateways.map((g) => g.gatewayUrl),
    writeKey: config.writeKey,
    users: USERS,
    eventsPerSecond: 1_500,
    eventsPerRequest: 3,
    maxInFlight: 48,
    retryDelayMs: 50,
  }));

  /** Lets the load run until `events` more were acknowledged and the sink kept up with delivery. */
  const flow = async (what: string, events: number): Promise<void> => {
    const target = l.acked.size + events;
    await waitFor(
      `${what}: ${events} more events acknowledged and delivered`,
      () => l.acked.size >= target && sink.count >= target - 3 * events,
      {
        timeoutMs: 30_000,
        intervalMs: 50,
      },
    );
  };

  await flow('one worker', 3_000);
  mark('1 worker');
  handoffs.push(await c.scaleTo(3));
  await expectLeasesAsMapped(c);
  mark('3 workers settled');
  await flow('three workers', 3_000);
  mark('3 workers');

  // 3 -> 5, and the worker that gives away the most partitions dies in the middle of it.
  const before = c.map!;
  const after = computePartitionMap(before, PARTITIONS, 5);
  const victim = [0, 1, 2].sort((a, b) => lost(before, after, b) - lost(before, after, a))[0]!;
  let crash:
    { held: number[]; expiry: Map<number, number>; waitingJobs: number; incarnation: string } | undefined;
  handoffs.push(
    await c.scaleTo(5, {
      // Paused from just before the map moves, it cannot let go of its partitions: the handoff is certain to be
      // under way (a new owner waiting for one of its leases) when it dies, however fast the machine is.
      beforePublish: async () => c.pauseWorker(victim),
      during: async ({ epoch }) => {
        await c.waitFor('a new owner to be acquiring', (reports) =>
          [3, 4].some((o) => {
            const r = reports.get(`worker-${o}`);
            return r !== undefined && r.epoch === epoch && r.acquiring.length > 0;
          }),
        );
        const last = (await c.reports()).get(`worker-${victim}`);
        await c.crashWorker(victim);
        mark(`worker-${victim} killed`);
        // What it held when it died is what Postgres says: its leases stay until they expire.
        const rows = (await c.leases()).filter(
          (row) => row.owner?.startsWith(`worker-${victim}/`) && row.live,
        );
        const held = rows.map((row) => row.partition);
        crash = {
          held,
          expiry: new Map(rows.map((row) => [row.partition, row.expiresAt!.getTime()])),
          waitingJobs: await c.waitingJobs(held),
          incarnation: last?.incarnation ?? '',
        };
        await c.startWorker(victim);
        mark(`worker-${victim} restarted`);
        await c.waitFor(`the restarted worker-${victim} to report`, (reports) => {
          const r = reports.get(`worker-${victim}`);
          return r !== undefined && r.incarnation !== crash!.incarnation;
        });
      },
    }),
  );
  mark('5 workers settled');
  const k = crash!;
  expect(k.held.length).toBeGreaterThan(0);
  // Its partitions went to their new owners only once its leases had expired, never while it might still commit.
  const afterCrash = await expectLeasesAsMapped(c);
  for (const p of k.held) {
    const row = afterCrash.find((x) => x.partition === p)!;
    expect(row.owner).not.toBe(`worker-${victim}/${k.incarnation}`);
    expect(row.acquiredAt!.getTime()).toBeGreaterThanOrEqual(k.expiry.get(p)!);
  }
  await flow('five workers', 3_000);
  mark('5 workers');
  handoffs.push(await c.scaleTo(2));
  await expectLeasesAsMapped(c);
  mark('2 workers settled');
  await flow('two workers', 3_000);
  mark('2 workers');
  handoffs.push(await c.scaleTo(1));
  await expectLeasesAsMapped(c);
  mark('1 worker settled');
  await flow('one worker again', 3_000);
  mark('1 worker');
  await l.stop();

  let report: SequenceReport | undefined;
  await waitFor(
    'every acknowledged event at the sink',
    () => (report = checkSequences(sink.events(), l.acked, l.sent)).missing.length === 0,
    { timeoutMs: 30_000, intervalMs: 200 },
  ).catch((err: unknown) => {
    throw new Error(
      `${(err as Error).message}: ${report?.missing.length} missing, e.g. ${report?.missing.slice(0, 10).join(', ')}`,
      {
        cause: err,
      },
    );
  });
  const r = report!;
  mark('all delivered');

  // The in-flight window. A duplicate is a delivery the sink accepted in a router round whose commit
  // never happened: only the crashed worker's last round, since graceful handoffs commit before they
  // release. That round read at most JOBS_PER_PARTITION fresh jobs per partition it held (the router's
  // per-partition read batch) plus the waiting (retrying or held) jobs of those partitions, and each of
  // them is redelivered at most once by the next owner. Besides, an event a client sent again after
  // getting no answer may have been stored twice by the gateway. So: duplicates <= held partitions x
  // JOBS_PER_PARTITION + waiting jobs + resent events, and none in a partition the crash did not hit.
  const bound = k.held.length * JOBS_PER_PARTITION + k.waitingJobs + l.resentEvents;
  const stray = r.duplicated.filter(
    (id) => !l.resent.has(id) && !k.held.includes(partitionOf(l.sent.get(id)!.user, PARTITIONS)),
  );
  process.stderr.write(
    `[scaling] ${r.unique} events of ${r.users} users delivered (${l.acked.size} acknowledged, ${l.sent.size} sent); ` +
      `arrivals ${r.arrivals}, duplicates ${r.duplicates} of ${r.duplicated.length} events (bound ${bound}: worker-${victim} killed holding ` +
      `${k.held.length} partitions with ${k.waitingJobs} waiting jobs, ${l.resentEvents} events resent by clients); ` +
      `request outcomes ${JSON.stringify(l.outcomes())}; sink ${JSON.stringify(sink.stats())}\n` +
      `[scaling] handoffs: ${handoffs
        .map(
          (h) =>
            `${h.from}->${h.to} epoch ${h.epoch} moved ${h.moved} settled ${h.settledMs} ms${h.releasedMs === undefined ? '' : ` (released ${h.releasedMs} ms)`}`,
        )
        .join('; ')}; ${Date.now() - started} ms in all\n[scaling] timeline: ${timeline.join(', ')}\n`,
  );

  expect(r.orderViolations).toEqual([]);
  expect(r.missing).toEqual([]);
  expect(r.unknown).toBe(0);
  expect(r.users).toBe(USERS);
  expect(r.duplicates).toBeLessThanOrEqual(bound);
  expect(stray).toEqual([]);
  expect(handoffs.map((h) => h.to)).toEqual([1, 3, 5, 2, 1]);
}, 150_000);

/** A settled map is what Postgres holds: every partition leased, unexpired, by the worker the map names. */
async function expectLeasesAsMapped(c: TenantCluster): Promise<LeaseRow[]> {
  const leases = await c.leases();
  expect(leases.map((row) => [row.partition, row.live, row.owner?.split('/')[0]])).toEqual(
    c.map!.owners.map((o, p) => [p, true, `worker-${o}`]),
  );
  return leases;
}

/** Partitions that ordinal `o` owns in `before` and not in `after`. */
function lost(before: PartitionMap, after: PartitionMap, o: number): number {
  return before.owners.filter((owner, p) => owner === o && after.owners[p] !== o).length;
}
