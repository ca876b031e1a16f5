import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { countWaitingJobs, freePort, readLeases, waitFor, type LeaseRow } from '@rudder/devkit';
import {
  parseWorkerReport,
  planHandoff,
  type HandoffPlan,
  type PartitionMap,
  type WorkerReport,
} from '@rudder/common/partition-map';
import {
  ensureStopped,
  exitWithin,
  spawnDataPlane,
  type ChildDataPlane,
  type DataPlaneEnv,
} from './harness.ts';

export interface TenantClusterOptions {
  /** Env shared by every process (database, schema, config file, router settings...). */
  env: DataPlaneEnv;
  partitions: number;
  leaseSeconds: number;
}

/** Faults `TenantCluster.scaleTo` injects around the publication of the new map. */
export interface HandoffFaults {
  beforePublish?: (handoff: { epoch: number }) => Promise<void>;
  during?: (handoff: { epoch: number }) => Promise<void>;
}

/** The timeline of one replica change, in ms since the map was published. */
export interface Handoff {
  from: number;
  to: number;
  epoch: number;
  /** Partitions whose owner changed. */
  moved: number;
  /** When the map was published (ms since the epoch). */
  publishedAt: number;
  /** Map published -> every worker of the map reports the epoch and settled. */
  settledMs: number;
  /** Scale down only: map published -> the leaving workers released everything. */
  releasedMs?: number;
}

/**
 * One tenant's data plane as local processes, with the test playing the
 * operator the way it does in Kubernetes: gateways (stateless), workers
 * `worker-0..N-1` that read the partition map from `<mapDir>/map.json` and
 * report to `<mapDir>/status-<workerId>.json`, and scale changes sequenced as
 * the contract says (scale up: workers ready first, then the map; scale down:
 * the map first, the leaving workers stopped only once they released
 * everything).
 */
export class TenantCluster {
  readonly gateways: ChildDataPlane[] = [];
  /** Running worker processes by ordinal. */
  readonly workers = new Map<number, ChildDataPlane>();
  /** When each running worker's process started, as a pod's container status tells the operator. */
  private readonly started = new Map<number, string>();
  /** The map last published. */
  map: PartitionMap | undefined;
  /** The worker StatefulSet's `spec.replicas` as this harness plays it: ordinals `0..setReplicas-1` should run. */
  setReplicas = 0;
  private readonly stopped: ChildDataPlane[] = [];
  private readonly starting = new Set<Promise<ChildDataPlane>>();
  private disposed = false;
  private mapDir: string | undefined;
  private readonly o: TenantClusterOptions;

  constructor(options: TenantClusterOptions) {
    this.o = options;
  }

  get dir(): string {
    if (!this.mapDir) throw new Error('the cluster is not started');
    return this.mapDir;
  }

  /** Creates the map directory; no map is published yet (workers started now own nothing). */
  async start(): Promise<void> {
    this.mapDir = await mkdtemp(join(tmpdir(), 'rudder-map-'));
  }

  async startGateway(): Promise<ChildDataPlane> {
    const gateway = await this.spawn(await this.processEnv({ RUDDER_ROLE: 'gateway' }), 'gateway');
    this.gateways.push(gateway);
    return gateway;
  }

  /** Starts `worker-<ordinal>` (again, after a crash: the same id, as a StatefulSet pod keeps its name). */
  async startWorker(ordinal: number): Promise<ChildDataPlane> {
    if (this.workers.has(ordinal)) throw new Error(`worker-${ordinal} is already running`);
    const env = await this.processEnv({
      RUDDER_ROLE: 'worker',
      WORKER_ID: `worker-${ordinal}`,
      PARTITION_MAP_SOURCE: 'file',
      PARTITION_MAP_DIR: this.dir,
      PARTITION_LEASE_SECONDS: String(this.o.leaseSeconds),
    });
    const startedAt = new Date().toISOString();
    const worker = await this.spawn(env, 'admin');
    this.workers.set(ordinal, worker);
    this.started.set(ordinal, startedAt);
    return worker;
  }

  /**
   * Starts workers `0..replicas-1` before any map exists (a StatefulSet
   * created ahead of the first map): they own nothing until `scaleTo`
   * publishes one, so a backlog can be queued first.
   */
  async startIdleWorkers(replicas: number): Promise<void> {
    if (this.map !== undefined || this.setReplicas !== 0) throw new Error('workers already run on a map');
    this.setReplicas = replicas;
    await Promise.all(range(0, replicas).map((o) => this.startWorker(o)));
  }

  /** SIGSTOP: the worker stays alive but does nothing (no renewals, no releases) until killed or continued. */
  pauseWorker(ordinal: number): void {
    this.worker(ordinal).kill('SIGSTOP');
  }

  /** `kill -9` of a worker (paused or not); resolves once it is gone. */
  async crashWorker(ordinal: number): Promise<void> {
    const worker = this.worker(ordinal);
    worker.kill('SIGKILL');
    const exit = await exitWithin(worker, 10_000);
    if (exit.signal !== 'SIGKILL') throw new Error(`worker-${ordinal} exited ${JSON.stringify(exit)}`);
    this.retire(ordinal);
  }

  /** SIGTERM, as a StatefulSet scale-down does; the worker must drain and exit 0. */
  async stopWorker(ordinal: number): Promise<void> {
    const worker = this.worker(ordinal);
    worker.kill('SIGTERM');
    const exit = await exitWithin(worker, 30_000);
    if (exit.code !== 0)
      throw new Error(`worker-${ordinal} exited ${JSON.stringify(exit)}\n${worker.output()}`);
    this.retire(ordinal);
  }

  /** Publishes `map` the way the operator updates the ConfigMap: readers see the old or the new file, never half. */
  async publish(map: PartitionMap): Promise<number> {
    const tmp = join(this.dir, `.map.json.${process.pid}.${Date.now()}`);
    await writeFile(tmp, JSON.stringify(map));
    await rename(tmp, join(this.dir, 'map.json'));
    this.map = map;
    return Date.now();
  }

  /** The workers' latest reports, by worker id (unreadable or half-written files are skipped). */
  async reports(): Promise<Map<string, WorkerReport>> {
    const reports = new Map<string, WorkerReport>();
    for (const name of await readdir(this.dir)) {
      const m = /^status-(.+)\.json$/.exec(name);
      if (!m) continue;
      const text = await readFile(join(this.dir, name), 'utf8').catch(() => undefined);
      const report = parseWorkerReport(text);
      if (report) reports.set(m[1]!, report);
    }
    return reports;
  }

  /** The partition leases as Postgres has them. */
  async leases(): Promise<LeaseRow[]> {
    return this.query(readLeases);
  }

  /** Delivery jobs waiting for a retry (or held behind one) in `partitions`, across the router's datasets. */
  async waitingJobs(partitions: number[]): Promise<number> {
    return this.query((client) => countWaitingJobs(client, partitions));
  }

  private async query<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({
      connectionString: this.o.env.DATABASE_URL,
      options: `-c search_path=${pg.escapeIdentifier(this.o.env.DATABASE_SCHEMA)}`,
    });
    await client.connect();
    try {
      return await run(client);
    } finally {
      await client.end();
    }
  }

  /**
   * Changes the replica count the way the operator does: reconcile steps of
   * `planHandoff` (the operator's own sequencing) applied to processes, until
   * the handoff has settled. To inject a fault mid-handoff, `faults.beforePublish`
   * runs right before the new map is written, and `faults.during` right after,
   * concurrently with the steps; the handoff counts as settled only once it has
   * finished too.
   */
  async scaleTo(replicas: number, faults: HandoffFaults = {}, timeoutMs = 45_000): Promise<Handoff> {
    const { beforePublish, during } = faults;
    const from = this.setReplicas;
    const before = this.map;
    let publishedAt: number | undefined;
    let releasedAt: number | undefined;
    let fault: Promise<void> | undefined;
    let faultDone = during === undefined;
    let faultError: Error | undefined;
    let plan: HandoffPlan | undefined;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (faultError !== undefined) throw faultError;
      const reports = await this.reports();
      plan = planHandoff({
        partitions: this.o.partitions,
        desiredReplicas: replicas,
        published: this.map,
        lastEpoch: this.map?.epoch,
        workerSet: { replicas: this.setReplicas, readyReplicas: this.workers.size, started: this.started },
        reports: [...reports.values()],
      });
      if (plan.statefulSetReplicas > this.setReplicas) {
        // podManagementPolicy Parallel: the new pods start together; each counts as ready once it answers.
        const added = range(this.setReplicas, plan.statefulSetReplicas);
        this.setReplicas = plan.statefulSetReplicas;
        await Promise.all(added.map((o) => this.startWorker(o)));
        continue;
      }
      if (plan.statefulSetReplicas < this.setReplicas) {
        const leaving = range(plan.statefulSetReplicas, this.setReplicas).reverse();
        this.setReplicas = plan.statefulSetReplicas;
        releasedAt = Date.now();
        for (const o of leaving) await this.stopWorker(o);
        continue;
      }
      if (plan.publish) {
        await beforePublish?.({ epoch: plan.map.epoch });
        publishedAt = await this.publish(plan.map);
        if (during) {
          const epoch = plan.map.epoch;
          fault = during({ epoch }).then(
            () => void (faultDone = true),
            (err: unknown) => void (faultError = err instanceof Error ? err : new Error(String(err))),
          );
        }
        continue;
      }
      if (plan.progress.phase === 'Settled' && faultDone && this.setReplicas === replicas) break;
      if (Date.now() > deadline) {
        const outputs = [...this.workers].map(
          ([o, w]) => `--- worker-${o} ---\n${w.output().split('\n').slice(-30).join('\n')}`,
        );
        throw new Error(
          `scaling to ${replicas} workers did not settle within ${timeoutMs} ms: ${JSON.stringify(plan.progress)}\n` +
            `map: ${JSON.stringify(this.map)}\nreports: ${JSON.stringify([...reports.values()])}\n${outputs.join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    await fault;
    const map = plan.map;
    const published = publishedAt ?? Date.now();
    return {
      from,
      to: replicas,
      epoch: map.epoch,
      moved: map.owners.filter((owner, p) => before?.owners[p] !== owner).length,
      publishedAt: published,
      settledMs: Date.now() - published,
      ...(releasedAt === undefined ? {} : { releasedMs: releasedAt - published }),
    };
  }

  /** Waits on the workers' reports; the error carries the reports and the workers' recent output. */
  async waitFor(
    what: string,
    check: (reports: Map<string, WorkerReport>) => boolean,
    timeoutMs = 30_000,
  ): Promise<void> {
    let last: Map<string, WorkerReport> | undefined;
    try {
      await waitFor(
        what,
        async () => {
          last = await this.reports();
          return check(last);
        },
        { timeoutMs, intervalMs: 25 },
      );
    } catch (err) {
      const outputs = [...this.workers].map(
        ([o, w]) => `--- worker-${o} ---\n${w.output().split('\n').slice(-30).join('\n')}`,
      );
      throw new Error(
        `${(err as Error).message}\nmap: ${JSON.stringify(this.map)}\nreports: ${JSON.stringify([...(last ?? new Map()).values()])}\n${outputs.join('\n')}`,
        { cause: err },
      );
    }
  }

  /** Stops every process (SIGKILL: a failed test must not wait on drains) and removes the map directory. */
  async dispose(): Promise<void> {
    this.disposed = true;
    // A process still starting (a test that failed meanwhile) is stopped too, once its start has ended.
    const starting = await Promise.allSettled([...this.starting]);
    const late = starting.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const all = [
      ...late,
      ...this.gateways.splice(0),
      ...[...this.workers.values()],
      ...this.stopped.splice(0),
    ];
    this.workers.clear();
    await Promise.all(all.map((p) => ensureStopped(p)));
    if (this.mapDir) await rm(this.mapDir, { recursive: true, force: true });
    this.mapDir = undefined;
  }

  private async spawn(env: DataPlaneEnv, probe: 'gateway' | 'admin'): Promise<ChildDataPlane> {
    // A test that timed out keeps running after its cleanup: it must not start processes nobody stops.
    if (this.disposed) throw new Error('the cluster is disposed');
    const start = spawnDataPlane(env, { probe });
    this.starting.add(start);
    try {
      return await start;
    } finally {
      this.starting.delete(start);
    }
  }

  private worker(ordinal: number): ChildDataPlane {
    const worker = this.workers.get(ordinal);
    if (!worker) throw new Error(`worker-${ordinal} is not running`);
    return worker;
  }

  private retire(ordinal: number): void {
    const worker = this.worker(ordinal);
    this.workers.delete(ordinal);
    this.started.delete(ordinal);
    this.stopped.push(worker);
  }

  private async processEnv(extra: Record<string, string>): Promise<DataPlaneEnv> {
    return {
      ...this.o.env,
      PARTITIONS: String(this.o.partitions),
      PORT: String(await freePort()),
      ADMIN_PORT: String(await freePort()),
      ...extra,
    };
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
