import type { CoreV1Api, V1ConfigMap, V1ContainerStatus } from '@kubernetes/client-node';
import {
  ordinalOf,
  parsePartitionMap,
  PARTITION_MAP_CONFIGMAP,
  PARTITION_MAP_KEY,
  PARTITION_STATUS_CONFIGMAP,
  type PartitionMap,
  type WorkerReport,
} from '@rudder/common/partition-map';
import { waitFor } from '@rudder/devkit';
import { firstReports, reportsOf } from './handoff-timeline.ts';
import type { ProcessKubelet } from './process-kubelet.ts';
import type { TenantDatabase } from './tenant-database.ts';
import type { TimelineEntry } from './watch-timeline.ts';

/** The data plane's default (dataplane/src/config.ts), for a worker whose pod does not set it. */
const DEFAULT_ROUTER_JOBS_PER_PARTITION = 200;

export interface WorkerCrashDeps {
  core: CoreV1Api;
  kubelet: ProcessKubelet;
  db: TenantDatabase;
  namespace: string;
  /** The watched changes of the `partition-status` ConfigMap so far. */
  reports(): readonly TimelineEntry<V1ConfigMap>[];
}

/** What a worker crash did, for a test's checks. */
export interface Crash {
  ordinal: number;
  /** The killed incarnation, and the one the kubelet started after it. */
  incarnation: string;
  successor: string;
  /**
   * Partitions whose leases it held when it was frozen, and so when it was
   * killed: a stopped process neither renews nor releases.
   */
  held: number[];
  /** Their leases' expiry then (ms since 1970, Postgres clock). */
  expiry: Map<number, number>;
  /** Delivery jobs waiting for a retry in those partitions then. */
  waitingJobs: number;
  /** The router's fresh jobs per partition and round (ROUTER_JOBS_PER_PARTITION of the worker pod). */
  jobsPerPartition: number;
  /** Revision of the first report of a new worker taking over at the new epoch: the kill came right after. */
  acquiringRevision: number;
  /** Revision of the successor's first report. */
  successorRevision: number;
  /** The worker container's status once restarted. */
  container: V1ContainerStatus;
  restartsBefore: number;
  /** Milestones, in ms since `prepare`. */
  timeline: string[];
}

/**
 * `kill -9` of a worker pod's process in the middle of a scale-up's
 * handoff, without racing the handoff. Created (`prepare`) before the
 * replicas change; then `freeze` SIGSTOPs the worker as soon as the first
 * new worker reports, which it does just before it turns ready, and so
 * before the operator can publish the new map (it waits for every pod to be
 * ready); it checks that the map had not moved. Frozen, the worker cannot
 * release what the map moves off it. `killMidHandoff` waits until a new
 * worker is taking over at the new epoch and SIGKILLs the frozen process;
 * `restarted` waits until the kubelet has restarted the container and the
 * new incarnation has reported.
 *
 * Why not freeze before the scale: the frozen worker must stay Ready until
 * the map moves, and a kubelet marks it NotReady after its readinessProbe
 * failed `failureThreshold` times (12-17 s for a worker), its leases expire
 * after 10 s, and on a busy machine new worker processes can take longer
 * than that to start.
 */
export class WorkerCrash {
  private readonly deps: WorkerCrashDeps;
  private readonly map: PartitionMap;
  private readonly pod: string;
  private readonly worker: Pick<Crash, 'ordinal' | 'incarnation' | 'jobsPerPartition' | 'restartsBefore'>;
  private readonly started = Date.now();
  /** The last `partition-status` revision seen at `prepare`. */
  private readonly sinceRevision: number;
  private readonly timeline: string[] = [];
  private frozen: Pick<Crash, 'held' | 'expiry' | 'waitingJobs'> | undefined;
  private acquiringRevision: number | undefined;

  private constructor(deps: WorkerCrashDeps, map: PartitionMap, worker: WorkerCrash['worker']) {
    this.deps = deps;
    this.map = map;
    this.worker = worker;
    this.pod = `worker-${worker.ordinal}`;
    this.sinceRevision = Math.max(0, ...deps.reports().map((e) => e.revision));
  }

  /** Worker `ordinal` of the settled `map`, before the replicas go up. */
  static async prepare(deps: WorkerCrashDeps, ordinal: number, map: PartitionMap): Promise<WorkerCrash> {
    const { core, namespace } = deps;
    const name = `worker-${ordinal}`;
    const pod = await core.readNamespacedPod({ namespace, name });
    const env = pod.spec?.containers[0]?.env?.find((e) => e.name === 'ROUTER_JOBS_PER_PARTITION')?.value;
    const status = await core.readNamespacedConfigMap({ namespace, name: PARTITION_STATUS_CONFIGMAP });
    const incarnation = reportsOf(status).get(name)?.incarnation;
    if (incarnation === undefined) throw new Error(`${name} has not reported`);
    return new WorkerCrash(deps, map, {
      ordinal,
      incarnation,
      jobsPerPartition: env === undefined ? DEFAULT_ROUTER_JOBS_PER_PARTITION : Number(env),
      restartsBefore: pod.status?.containerStatuses?.[0]?.restartCount ?? 0,
    });
  }

  /** SIGSTOPs the worker once a new worker has reported, before the map moves; records what it held. */
  async freeze(): Promise<void> {
    const { core, db, kubelet, namespace } = this.deps;
    await waitFor(
      'a new worker to report',
      () =>
        firstReports(this.deps.reports(), this.sinceRevision, (reports) =>
          [...reports.values()].some((r) => this.isNew(r)),
        ),
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    kubelet.signalPod(namespace, this.pod, 'SIGSTOP');
    this.mark('frozen as a new worker reported');
    const cm = await core.readNamespacedConfigMap({ namespace, name: PARTITION_MAP_CONFIGMAP });
    const epoch = parsePartitionMap(cm.data?.[PARTITION_MAP_KEY])?.epoch;
    if (epoch !== this.map.epoch)
      throw new Error(`the map had moved to epoch ${epoch} before ${this.pod} was frozen`);
    const owner = `${this.pod}/${this.worker.incarnation}`;
    const mine = (await db.leases()).filter((l) => l.owner === owner && l.live);
    const held = mine.map((l) => l.partition);
    this.frozen = {
      held,
      expiry: new Map(mine.map((l) => [l.partition, l.expiresAt!.getTime()])),
      waitingJobs: await db.waitingJobs(held),
    };
  }

  /**
   * Waits until a new worker has begun taking over at the new epoch: it is
   * acquiring (or, should the frozen worker's leases have expired first,
   * already holds some of its share); then SIGKILLs the frozen worker.
   */
  async killMidHandoff(): Promise<void> {
    const { core, db, kubelet, namespace } = this.deps;
    const { held } = this.expectFrozen();
    const takingOver = (r: WorkerReport): boolean =>
      this.isNew(r) &&
      r.epoch > this.map.epoch &&
      (r.acquiring.length > 0 || r.held.some((p) => held.includes(p)));
    const outcome = await waitFor(
      'a new worker to be acquiring partitions at the new epoch',
      async () => {
        const entry = firstReports(this.deps.reports(), this.sinceRevision, (reports) =>
          [...reports.values()].some(takingOver),
        );
        if (entry) return { entry };
        // The map moves only with every worker pod ready: once the frozen one is not, it never will.
        const pod = await core.readNamespacedPod({ namespace, name: this.pod });
        return pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True'
          ? undefined
          : { notReady: true };
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    if (!('entry' in outcome))
      throw new Error(
        `${this.pod}, frozen, went NotReady before the new map moved: the new workers took longer to become ` +
          `ready than its readinessProbe's failureThreshold x periodSeconds (${this.timeline.join(', ')})`,
      );
    this.acquiringRevision = outcome.entry.revision;
    this.mark('a new worker acquiring');
    kubelet.signalPod(namespace, this.pod, 'SIGKILL');
    this.mark('killed');
    const owner = `${this.pod}/${this.worker.incarnation}`;
    const live = (await db.leases()).filter((l) => l.owner === owner && l.live).length;
    this.timeline.push(`${live} of its ${held.length} leases still live then`);
  }

  /** Waits for the restarted container and its first report. */
  async restarted(): Promise<Crash> {
    const { core, namespace } = this.deps;
    const frozen = this.expectFrozen();
    const { incarnation, restartsBefore } = this.worker;
    const acquiringRevision = this.acquiringRevision;
    if (acquiringRevision === undefined) throw new Error(`${this.pod} was not killed`);
    const container = await waitFor(
      `${this.pod}'s container to be restarted`,
      async () => {
        const pod = await core.readNamespacedPod({ namespace, name: this.pod });
        const s = pod.status?.containerStatuses?.[0];
        return s?.restartCount === restartsBefore + 1 && s.state?.running && s.lastState?.terminated
          ? s
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    this.mark('restarted');
    const first = await waitFor(
      `the restarted ${this.pod} to report`,
      () =>
        firstReports(this.deps.reports(), acquiringRevision, (reports) => {
          const reported = reports.get(this.pod)?.incarnation;
          return reported !== undefined && reported !== incarnation;
        }),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    this.mark('its successor reported');
    return {
      ...this.worker,
      ...frozen,
      successor: reportsOf(first.object).get(this.pod)!.incarnation,
      acquiringRevision,
      successorRevision: first.revision,
      container,
      timeline: this.timeline,
    };
  }

  /** A worker the map before the scale-up does not have. */
  private isNew(report: WorkerReport): boolean {
    return (ordinalOf(report.worker) ?? -1) >= this.map.replicas;
  }

  private expectFrozen(): NonNullable<WorkerCrash['frozen']> {
    if (!this.frozen) throw new Error(`${this.pod} was not frozen`);
    return this.frozen;
  }

  private mark(what: string): void {
    this.timeline.push(`${what} +${Date.now() - this.started} ms`);
  }
}
