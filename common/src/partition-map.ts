/**
 * The partition map: which worker ordinal owns each of a tenant's partitions.
 *
 * The operator publishes it in the `partition-map` ConfigMap and the workers
 * watch it. Assignment is balanced (every worker owns floor(P/N) or ceil(P/N)
 * partitions) and moves as few partitions as possible when the worker count
 * changes, because every moved partition is a handoff that pauses its users'
 * events until the new owner has taken it over.
 */
import { z } from 'zod';

/** The ConfigMap (in the tenant namespace) the operator publishes the map in, and its key holding the JSON. */
export const PARTITION_MAP_CONFIGMAP = 'partition-map';
export const PARTITION_MAP_KEY = 'map.json';
/** The ConfigMap the workers report to, one key per worker id (see WorkerReport). */
export const PARTITION_STATUS_CONFIGMAP = 'partition-status';

export interface PartitionMap {
  /** Bumped whenever an owner changes; workers use it to order handoffs. */
  epoch: number;
  partitions: number;
  replicas: number;
  /** `owners[p]` is the worker ordinal that owns partition `p`, or -1 when there are no workers. */
  owners: number[];
}

/**
 * The map for `partitions` partitions over `replicas` workers, derived from
 * `previous` with the fewest ownership changes. Deterministic: the same inputs
 * always give the same map.
 */
export function computePartitionMap(
  previous: PartitionMap | undefined,
  partitions: number,
  replicas: number,
): PartitionMap {
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`invalid partition count ${partitions}`);
  if (!Number.isInteger(replicas) || replicas < 0) throw new RangeError(`invalid replica count ${replicas}`);

  // A map of another partition count says nothing useful about this one.
  const before = previous !== undefined && previous.partitions === partitions ? previous.owners : undefined;
  const owners =
    replicas === 0 ? new Array<number>(partitions).fill(-1) : assign(before, partitions, replicas);

  if (previous === undefined) return { epoch: 1, partitions, replicas, owners };
  const unchanged = before !== undefined && before.every((owner, p) => owner === owners[p]);
  return { epoch: unchanged ? previous.epoch : previous.epoch + 1, partitions, replicas, owners };
}

function assign(before: number[] | undefined, partitions: number, replicas: number): number[] {
  const held = new Array<number>(replicas).fill(0);
  for (const owner of before ?? []) if (owner >= 0 && owner < replicas) held[owner]! += 1;

  // The P mod N larger shares go to the workers that already hold the most
  // (lowest ordinal on ties): that choice maximises what every worker keeps.
  const base = Math.floor(partitions / replicas);
  const byHoldings = [...held.keys()].sort((a, b) => held[b]! - held[a]! || a - b);
  const quota = new Array<number>(replicas).fill(base);
  for (const ordinal of byHoldings.slice(0, partitions % replicas)) quota[ordinal]! += 1;

  const owners = new Array<number>(partitions).fill(-1);
  const kept = new Array<number>(replicas).fill(0);
  for (let p = 0; p < partitions; p++) {
    const owner = before?.[p] ?? -1;
    if (owner >= 0 && owner < replicas && kept[owner]! < quota[owner]!) {
      owners[p] = owner;
      kept[owner]! += 1;
    }
  }

  let ordinal = 0;
  for (let p = 0; p < partitions; p++) {
    if (owners[p] !== -1) continue;
    while (kept[ordinal]! >= quota[ordinal]!) ordinal++;
    owners[p] = ordinal;
    kept[ordinal]! += 1;
  }
  return owners;
}

const partitionMapSchema = z
  .object({
    epoch: z.number().int().min(0),
    partitions: z.number().int().min(1),
    replicas: z.number().int().min(0),
    owners: z.array(z.number().int().min(-1)),
  })
  .refine((m) => m.owners.length === m.partitions, 'owners must have one entry per partition')
  .refine(
    (m) => m.owners.every((o) => (m.replicas === 0 ? o === -1 : o >= 0 && o < m.replicas)),
    'every owner must be a worker ordinal below replicas (-1 only when replicas is 0)',
  );

/** The map in `json` (the ConfigMap's `map.json`), or undefined when it is missing or not a valid map. */
export function parsePartitionMap(json: string | undefined): PartitionMap | undefined {
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const parsed = partitionMapSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * What a worker reports about its partitions (the `partition-status`
 * ConfigMap's value under its id, or a status file in local mode): the map
 * epoch it has acted on and the leases it holds, is acquiring and is
 * releasing. `settled` means it holds exactly what that epoch assigns it.
 */
export interface WorkerReport {
  worker: string;
  /** Random per process start: a restarted worker is a new incarnation. */
  incarnation: string;
  epoch: number;
  held: number[];
  acquiring: number[];
  releasing: number[];
  settled: boolean;
  /** ISO 8601 time of the report. */
  at: string;
}

const partitionList = z.array(z.number().int().min(0));
const workerReportSchema = z.object({
  worker: z.string().min(1),
  incarnation: z.string().min(1),
  epoch: z.number().int().min(0),
  held: partitionList,
  acquiring: partitionList,
  releasing: partitionList,
  settled: z.boolean(),
  at: z.string().min(1),
});

/** The report in `json`, or undefined when it is missing or malformed (a worker mid-upgrade, a hand edit). */
export function parseWorkerReport(json: string | undefined): WorkerReport | undefined {
  if (json === undefined) return undefined;
  try {
    const parsed = workerReportSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The trailing `-N` of a worker id (`worker-2` is ordinal 2), or undefined when it has none. */
export function ordinalOf(workerId: string): number | undefined {
  const match = /-(\d+)$/.exec(workerId);
  return match ? Number(match[1]) : undefined;
}

/** The worker StatefulSet as it is before the plan is applied. */
export interface WorkerSet {
  /** `spec.replicas`: the StatefulSet keeps the pods of ordinals `0..replicas-1`. */
  replicas: number;
  /** `status.readyReplicas`. */
  readyReplicas: number;
  /**
   * When the running process of each worker pod started (ordinal -> ISO 8601
   * time; Kubernetes gives a container's `startedAt` to the second), where
   * known. A report written before its worker's process started comes from a
   * dead incarnation, and one for an ordinal with no running process has no
   * live writer: neither counts. Without it every latest report counts.
   */
  started?: ReadonlyMap<number, string>;
}

export interface HandoffInput {
  partitions: number;
  /** The worker count asked for (the RudderInstance's `spec.dataPlane.replicas`). */
  desiredReplicas: number;
  /** The map the workers see now; undefined before the first one, or when it is missing or unreadable. */
  published: PartitionMap | undefined;
  /**
   * The highest epoch known to have been published (the instance status), so
   * that a lost or rolled-back map is republished above every epoch a worker
   * may hold a lease at: acquisition refuses leases of a later epoch.
   */
  lastEpoch?: number | undefined;
  /** Undefined when the StatefulSet does not exist (yet). */
  workerSet: WorkerSet | undefined;
  /** The workers' latest reports, in any order; reports of ordinals outside the StatefulSet are ignored. */
  reports: readonly WorkerReport[];
}

export type HandoffPhase = 'Settled' | 'ScalingUp' | 'HandingOff' | 'ScalingDown';

export interface HandoffProgress {
  /**
   * `ScalingUp`: new workers are starting, the map moves to them once they are
   * ready. `ScalingDown`: the map has moved partitions off the leaving workers,
   * the StatefulSet keeps them until they released everything. `HandingOff`:
   * the map's workers are still taking over their partitions. `Settled`: every
   * worker of the map holds exactly its share at the map's epoch.
   */
  phase: HandoffPhase;
  epoch: number;
  /** The worker count asked for. */
  desiredWorkers: number;
  /** Workers the map assigns partitions to (`map.replicas`). */
  workers: number;
  /** Of those, the ones that report the map's epoch and settled. */
  settledWorkers: number;
  /** Partitions their owner in the map does not report holding (or, with no workers, someone still holds). */
  movingPartitions: number;
  /** Leaving ordinals the StatefulSet keeps until they report having released everything. */
  draining: number[];
}

export interface HandoffPlan {
  /** The map the workers should see: the published one unless `publish`. */
  map: PartitionMap;
  /** True when `map` differs from the published map and must be written. */
  publish: boolean;
  /** The worker StatefulSet's `spec.replicas`. */
  statefulSetReplicas: number;
  progress: HandoffProgress;
}

/**
 * The next step of moving a tenant's workers to `desiredReplicas`, as a pure
 * function of what is published, what runs and what the workers report: the
 * operator applies it on every reconcile, a test harness can apply it to
 * worker processes. Calling it again with the outcome of the last step takes
 * the next one, so it converges from any state (including a change of
 * direction mid-way).
 *
 * - Scale up: the StatefulSet grows first; the map including the new workers
 *   is published once the StatefulSet has that many ready pods, so no
 *   partition is assigned to a worker that cannot take it yet.
 * - Scale down: the map without the leaving ordinals is published at once;
 *   the StatefulSet drops its highest ordinals only once each reports the
 *   map's epoch (or later) with nothing held, acquiring or releasing. A
 *   crashed worker's successor reports nothing held, which is enough: the
 *   dead incarnation's leases expire on their own.
 * - The first map (or one that was lost) is published at once for the
 *   workers that exist or will: nobody holds a partition to hand over.
 *
 * Of several reports for one ordinal the latest (`at`) counts. A crashed
 * worker's last report stays in place until its successor writes one: when
 * the pods' start times are known (`workerSet.started`) it no longer counts
 * once the process that wrote it is gone, otherwise it is only taken at its
 * word for the epoch it names. `Settled` also needs as many ready pods as the
 * map has workers.
 */
export function planHandoff(input: HandoffInput): HandoffPlan {
  const { partitions, desiredReplicas: desired, published, workerSet } = input;
  if (!Number.isInteger(desired) || desired < 0) throw new RangeError(`invalid replica count ${desired}`);
  const reports = latestByOrdinal(input.reports.filter((r) => isCurrent(r, workerSet?.started)));

  let mapReplicas = desired;
  if (published === undefined) mapReplicas = Math.min(desired, workerSet?.replicas ?? desired);
  else if (desired > published.replicas && !(workerSet && readyFor(workerSet, desired)))
    mapReplicas = published.replicas;
  let map = computePartitionMap(published, partitions, mapReplicas);
  // Epochs only grow, whatever happened to the ConfigMap: workers and their leases remember later ones.
  const floor = Math.max(input.lastEpoch ?? 0, ...input.reports.map((r) => r.epoch));
  if (published === undefined ? map.epoch <= floor : map.epoch < floor) map = { ...map, epoch: floor + 1 };
  const publish = published === undefined || !sameMap(map, published);

  // StatefulSets remove the highest ordinals first: shrink past every leaving one that let go of everything.
  let replicas = Math.max(desired, workerSet?.replicas ?? 0);
  while (replicas > desired && released(reports.get(replicas - 1), map.epoch)) replicas--;
  const draining: number[] = [];
  for (let ordinal = desired; ordinal < replicas; ordinal++)
    if (!released(reports.get(ordinal), map.epoch)) draining.push(ordinal);

  const settledWorkers = [...Array(map.replicas).keys()].filter((ordinal) => {
    const report = reports.get(ordinal);
    return report !== undefined && report.epoch === map.epoch && report.settled;
  }).length;
  const movingPartitions = countMoving(map, reports, replicas);
  // A worker pod that is not ready may be a restarted one whose dead predecessor's report still says settled.
  const podsReady = workerSet === undefined || workerSet.readyReplicas >= map.replicas;
  const phase: HandoffPhase =
    map.replicas < desired
      ? 'ScalingUp'
      : replicas > map.replicas
        ? 'ScalingDown'
        : settledWorkers < map.replicas || movingPartitions > 0 || !podsReady
          ? 'HandingOff'
          : 'Settled';
  return {
    map,
    publish,
    statefulSetReplicas: replicas,
    progress: {
      phase,
      epoch: map.epoch,
      desiredWorkers: desired,
      workers: map.replicas,
      settledWorkers,
      movingPartitions,
      draining,
    },
  };
}

/** Enough ready pods for `replicas` workers. Readiness is counted, not per ordinal: pods start in parallel. */
function readyFor(workerSet: WorkerSet, replicas: number): boolean {
  return workerSet.replicas >= replicas && workerSet.readyReplicas >= replicas;
}

/** Nothing held, acquiring or releasing, said while acting on `epoch` or later. */
function released(report: WorkerReport | undefined, epoch: number): boolean {
  return (
    report !== undefined &&
    report.epoch >= epoch &&
    report.held.length === 0 &&
    report.acquiring.length === 0 &&
    report.releasing.length === 0
  );
}

/**
 * Partitions not (yet) with their owner: the owner does not report holding
 * them. With no workers at all, the partitions some worker still holds or
 * releases. Only workers of the StatefulSet (`replicas`) count.
 */
function countMoving(map: PartitionMap, reports: Map<number, WorkerReport>, replicas: number): number {
  const held = new Map<number, Set<number>>();
  const busy = new Set<number>();
  for (const [ordinal, report] of reports) {
    if (ordinal >= replicas) continue;
    held.set(ordinal, new Set(report.held));
    for (const p of [...report.held, ...report.releasing]) busy.add(p);
  }
  let moving = 0;
  for (let p = 0; p < map.partitions; p++) {
    const owner = map.owners[p]!;
    if (owner >= 0 ? !(held.get(owner)?.has(p) ?? false) : busy.has(p)) moving++;
  }
  return moving;
}

/** Written by the worker's running process, as far as `started` tells (see `WorkerSet.started`). */
function isCurrent(report: WorkerReport, started: ReadonlyMap<number, string> | undefined): boolean {
  if (started === undefined) return true;
  const ordinal = ordinalOf(report.worker);
  const since = ordinal === undefined ? undefined : started.get(ordinal);
  return since !== undefined && (Date.parse(report.at) || 0) >= Date.parse(since);
}

function latestByOrdinal(reports: readonly WorkerReport[]): Map<number, WorkerReport> {
  const time = (r: WorkerReport): number => Date.parse(r.at) || 0;
  const latest = new Map<number, WorkerReport>();
  for (const report of reports) {
    const ordinal = ordinalOf(report.worker);
    if (ordinal === undefined) continue;
    const other = latest.get(ordinal);
    if (
      other === undefined ||
      time(report) > time(other) ||
      (time(report) === time(other) && report.epoch > other.epoch)
    )
      latest.set(ordinal, report);
  }
  return latest;
}

function sameMap(a: PartitionMap, b: PartitionMap): boolean {
  return (
    a.epoch === b.epoch &&
    a.partitions === b.partitions &&
    a.replicas === b.replicas &&
    a.owners.length === b.owners.length &&
    a.owners.every((owner, p) => owner === b.owners[p])
  );
}
