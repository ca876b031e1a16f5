import type { KubernetesObject, V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import {
  PARTITION_STATUS_CONFIGMAP,
  parsePartitionMap,
  parseWorkerReport,
  type WorkerReport,
} from '@rudder/common/partition-map';
import type { RudderInstance } from '@rudder/common/rudder-instance';
import type { Cluster } from './cluster.ts';
import type { TimelineEntry } from './watch-timeline.ts';

/** What a tenant's scaling looks like from the API server: the watched changes of its objects. */
export interface HandoffTimelines {
  instance: readonly TimelineEntry<RudderInstance & KubernetesObject>[];
  /** The worker StatefulSet. */
  statefulSet: readonly TimelineEntry<V1StatefulSet>[];
  /** ConfigMap `partition-map`. */
  map: readonly TimelineEntry<V1ConfigMap>[];
  /** ConfigMap `partition-status`. */
  reports: readonly TimelineEntry<V1ConfigMap>[];
}

/** One `replicas: from -> to` change, as it unfolded. */
export interface ScaleStep {
  from: number;
  to: number;
  /** The epoch of the map for `to` workers. */
  epoch: number;
  /** Revisions (etcd order) of: the spec change, the map's publication, the instance status that says Settled. */
  specRevision: number;
  mapRevision: number;
  settledRevision: number;
  /** The worker StatefulSet's `spec.replicas` changes after the spec change, in order. */
  statefulSet: { revision: number; replicas: number; atMs: number }[];
  /** `.status.partitionMap` from the spec change to Settled, repeats collapsed: `epoch/phase/settled of workers`. */
  phases: string[];
  /** Milliseconds from the spec change to the map's publication and to Settled (as the watches saw them). */
  mapAfterMs: number;
  settledAfterMs: number;
  /** `lastHandoffSeconds` in the Settled status. */
  lastHandoffSeconds: number | undefined;
  /** Breaches of the handoff protocol's ordering (empty when it was kept). */
  violations: string[];
}

/**
 * Reads the scale from `from` to `to` workers that started after
 * `afterRevision` out of the timelines: the spec change, the map for `to`
 * workers, the StatefulSet's replica changes, and the instance status up to
 * the first `Settled` with `to` settled workers at that map's epoch. Checks
 * the sequencing of the handoff: scaling up, the StatefulSet grows to `to`
 * ready pods before the map moves partitions to them; scaling down, the map
 * moves first and the StatefulSet drops an ordinal only after that worker
 * reported the new epoch with nothing held, acquiring or releasing.
 * Throws when a milestone never happened.
 */
export function scaleStep(t: HandoffTimelines, from: number, to: number, afterRevision: number): ScaleStep {
  const spec = t.instance.find(
    (e) => e.revision > afterRevision && e.object.spec?.dataPlane?.replicas === to,
  );
  if (!spec) throw new Error(`no change of spec.dataPlane.replicas to ${to} after revision ${afterRevision}`);
  const published = t.map.find((e) => e.revision > spec.revision && mapOf(e)?.replicas === to);
  if (!published) throw new Error(`no partition map for ${to} workers was published`);
  const epoch = mapOf(published)!.epoch;
  const settled = t.instance.find((e) => {
    const p = e.object.status?.partitionMap;
    return (
      e.revision > published.revision &&
      p?.epoch === epoch &&
      p.phase === 'Settled' &&
      p.workers === to &&
      p.settledWorkers === to
    );
  });
  if (!settled)
    throw new Error(`the instance status never said Settled with ${to} workers at epoch ${epoch}`);

  const statefulSet: ScaleStep['statefulSet'] = [];
  let replicas = stateAt(t.statefulSet, spec.revision)?.object.spec?.replicas ?? from;
  for (const e of t.statefulSet) {
    const r = e.object.spec?.replicas;
    if (e.revision <= spec.revision || r === undefined || r === replicas) continue;
    statefulSet.push({ revision: e.revision, replicas: r, atMs: Math.round(e.at - spec.at) });
    replicas = r;
  }

  const violations: string[] = [];
  if (to > from) {
    for (const change of statefulSet.filter((c) => c.revision > published.revision && c.replicas > from))
      violations.push(`the StatefulSet grew to ${change.replicas} after the map for ${to} workers`);
    const before = stateAt(t.statefulSet, published.revision)?.object;
    const ready = before?.status?.readyReplicas ?? 0;
    if ((before?.spec?.replicas ?? 0) < to || ready < to)
      violations.push(
        `the map for ${to} workers came out while the StatefulSet had ${before?.spec?.replicas} replicas, ${ready} ready`,
      );
  } else {
    let kept = from;
    for (const change of statefulSet) {
      if (change.replicas >= kept) continue;
      if (change.revision < published.revision)
        violations.push(`the StatefulSet shrank to ${change.replicas} before the map for ${to} workers`);
      const reports = reportsOf(stateAt(t.reports, change.revision)?.object);
      for (let ordinal = change.replicas; ordinal < kept; ordinal++) {
        const r = reports.get(`worker-${ordinal}`);
        if (!r || r.epoch < epoch || r.held.length + r.acquiring.length + r.releasing.length > 0)
          violations.push(
            `the StatefulSet dropped worker-${ordinal} while its report said ${r ? JSON.stringify(r) : 'nothing'}`,
          );
      }
      kept = change.replicas;
    }
  }

  const phases: string[] = [];
  for (const e of t.instance) {
    if (e.revision < spec.revision || e.revision > settled.revision) continue;
    const p = e.object.status?.partitionMap;
    if (!p) continue;
    const line = `${p.epoch}/${p.phase}/${p.settledWorkers} of ${p.workers}`;
    if (phases[phases.length - 1] !== line) phases.push(line);
  }
  return {
    from,
    to,
    epoch,
    specRevision: spec.revision,
    mapRevision: published.revision,
    settledRevision: settled.revision,
    statefulSet,
    phases,
    mapAfterMs: Math.round(published.at - spec.at),
    settledAfterMs: Math.round(settled.at - spec.at),
    lastHandoffSeconds: settled.object.status?.partitionMap?.lastHandoffSeconds,
    violations,
  };
}

/**
 * The first change of the `partition-status` ConfigMap after `afterRevision`
 * whose reports pass `test`: read from the watch, so a state that lasted
 * only one write is found too.
 */
export function firstReports(
  reports: readonly TimelineEntry<V1ConfigMap>[],
  afterRevision: number,
  test: (reports: Map<string, WorkerReport>) => boolean,
): TimelineEntry<V1ConfigMap> | undefined {
  return reports.find((e) => e.revision > afterRevision && test(reportsOf(e.object)));
}

/** The map a `partition-map` ConfigMap holds. */
export function mapOf(e: TimelineEntry<V1ConfigMap> | V1ConfigMap | undefined) {
  const cm = e && 'object' in e ? e.object : e;
  return parsePartitionMap(cm?.data?.['map.json']);
}

/** The reports a `partition-status` ConfigMap holds, by worker id (malformed ones left out). */
export function reportsOf(cm: V1ConfigMap | undefined): Map<string, WorkerReport> {
  const out = new Map<string, WorkerReport>();
  for (const [key, value] of Object.entries(cm?.data ?? {})) {
    const report = parseWorkerReport(value);
    if (report) out.set(key, report);
  }
  return out;
}

/** The object as it was just before `revision`: the last change older than it. */
function stateAt<T extends KubernetesObject>(
  entries: readonly TimelineEntry<T>[],
  revision: number,
): TimelineEntry<T> | undefined {
  let last: TimelineEntry<T> | undefined;
  for (const e of entries) if (e.revision < revision) last = e;
  return last;
}

/**
 * Writes a worker's partition report as that worker would: server-side apply
 * of its own key of `partition-status`, with its field manager, as the data
 * plane's ServiceAccount (so the Role's rights are what allow it). For tests
 * whose pods run no process (the worker then holds nothing).
 */
export async function applyWorkerReport(
  cluster: Pick<Cluster, 'kubectl'>,
  namespace: string,
  report: WorkerReport,
): Promise<void> {
  const args = [
    'apply',
    '--server-side',
    `--field-manager=rudder-worker-${report.worker}`,
    `--as=system:serviceaccount:${namespace}:rudder-dataplane`,
    '-f',
    '-',
  ];
  const r = await cluster.kubectl(
    args,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: PARTITION_STATUS_CONFIGMAP, namespace },
      data: { [report.worker]: JSON.stringify(report) },
    }),
  );
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
}

/** The report of a worker that holds nothing at `epoch` (what a leaving worker says once it released everything). */
export function releasedReport(worker: string, epoch: number): WorkerReport {
  return {
    worker,
    incarnation: 'e2e',
    epoch,
    held: [],
    acquiring: [],
    releasing: [],
    settled: true,
    at: new Date().toISOString(),
  };
}
