import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '@rudder/common';
import {
  RUDDER_INSTANCE_RESOURCE as R,
  defaultedSpec,
  type DefaultedSpec,
  type RudderInstance,
  type RudderInstanceStatus,
} from '@rudder/common/rudder-instance';
import {
  INSTANCE_LABEL,
  PARTITION_MAP_CONFIGMAP,
  PARTITION_MAP_KEY,
  PARTITION_STATUS_CONFIGMAP,
  WORKER_NAME,
  WORKER_POOL_NAME,
  desiredObjects,
  ingestEndpoint,
  tenantNamespace,
  workerSelector,
  type DesiredInput,
  type DesiredWorkers,
  type WorkerPool,
} from '../desired/index.ts';
import {
  parsePartitionMap,
  parseWorkerReport,
  planHandoff,
  type HandoffPlan,
  type PartitionMap,
  type WorkerReport,
} from '@rudder/common/partition-map';
import { ReconcileError, toReconcileError } from '../errors.ts';
import type { ClusterApi } from '../kube/cluster-api.ts';
import type { EventRecorder, EventTarget } from '../kube/events.ts';
import type { WorkerSetReader } from '../kube/partition-api.ts';
import { computeStatus, readyCondition, sameStatus } from '../status/conditions.ts';
import { handoffEvents, partitionMapStatus, type HandoffEvent } from '../status/handoff.ts';
import { syncWorkerPool, workerCount, workerPoolEvent } from './worker-pool.ts';
import { workloadStates } from './workloads.ts';

/** Held on every RudderInstance until its namespace is gone. */
export const FINALIZER = 'rudder.dev/cleanup';

export type ReconcileOutcome =
  | { result: 'ready' | 'deleted' | 'gone' | 'paused' }
  | { result: 'progressing' | 'terminating'; requeueAfterMs: number };

export interface ReconcilerDeps {
  api: ClusterApi;
  events: EventRecorder;
  logger: Logger;
  operatorNamespace: string;
  requeueNotReadyMs: number;
  /** Reads the worker StatefulSet before it is applied (the handoff plan depends on it). */
  workerSets: WorkerSetReader;
  now?: () => Date;
}

/** What gather() found: the desired-state input, the handoff plan and the map the workers saw before it. */
interface Gathered {
  input: DesiredInput;
  plan: HandoffPlan;
  published: PartitionMap | undefined;
  /** The worker count the plan moves to, and where it comes from. */
  desired: DesiredWorkers;
  /** The WorkerPool before the apply; undefined when it does not exist. */
  pool: WorkerPool | undefined;
  /** With autoscaling and no pool: the pool to create, at its starting count. */
  seed: WorkerPool | undefined;
}

/**
 * Makes the cluster match one RudderInstance, level-triggered: it reads the
 * instance and what it depends on, applies every desired object with
 * server-side apply, and writes the status from what the API server answered.
 * Running it twice in a row changes nothing the second time.
 */
export class Reconciler {
  private readonly d: ReconcilerDeps;
  /** uid of each object last applied, to tell "created (again)" from "updated" for Events. */
  private readonly uids = new Map<string, string>();
  private apiServer: { endpoints: { ip: string; port: number }[]; at: number } | undefined;

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
  }

  async reconcile(name: string): Promise<ReconcileOutcome> {
    let instance = await this.d.api.getInstance(name);
    if (!instance?.metadata?.uid) return { result: 'gone' };
    const target: EventTarget = {
      apiVersion: `${R.group}/${R.version}`,
      kind: R.kind,
      name,
      uid: instance.metadata.uid,
    };
    const finalizers = instance.metadata.finalizers ?? [];
    if (instance.metadata.deletionTimestamp !== undefined) return this.finalize(instance, target);
    if (!finalizers.includes(FINALIZER))
      instance = await this.d.api.setFinalizers(name, instance.metadata.resourceVersion ?? '', [
        ...finalizers,
        FINALIZER,
      ]);

    const spec = defaultedSpec(instance.spec);
    const namespace = tenantNamespace(spec);
    const base = {
      namespace,
      selector: workerSelector(name),
      ingestEndpoint: ingestEndpoint(spec),
      replicas: instance.status?.replicas ?? 0,
      ...(instance.status?.desiredReplicas !== undefined
        ? { desiredReplicas: instance.status.desiredReplicas }
        : {}),
      ...(instance.status?.replicasSource ? { replicasSource: instance.status.replicasSource } : {}),
      ...(instance.status?.partitionMap ? { partitionMap: instance.status.partitionMap } : {}),
    };
    const generation = instance.metadata?.generation ?? 0;
    const previous = instance.status;
    const statusOf = (extra: Partial<Parameters<typeof computeStatus>[0]>) =>
      computeStatus({ generation, previous, base, workloads: [], paused: false, now: this.now(), ...extra });

    if (spec.paused) {
      await this.writeStatus(name, previous, statusOf({ paused: true }));
      return { result: 'paused' };
    }

    const started = Date.now();
    let status: RudderInstanceStatus;
    let plan: HandoffPlan;
    let events: (HandoffEvent | NonNullable<ReturnType<typeof workerPoolEvent>>)[];
    try {
      const gathered = await this.gather(instance, spec, namespace);
      const { desired, pool, seed } = gathered;
      plan = gathered.plan;
      // A missing WorkerPool is created with its starting count; every apply after that leaves the count alone.
      const applied = await this.applyAll(desiredObjects(gathered.input), target, started, seed);
      const workloads = workloadStates(applied, spec, plan.statefulSetReplicas);
      const worker = applied.find((o) => o.kind === 'StatefulSet' && o.metadata?.name === WORKER_NAME) as
        k8s.V1StatefulSet | undefined;
      // The worker pods that exist: what the scale subresources show kubectl and an HPA.
      const workerPods = worker?.status?.replicas ?? 0;
      await syncWorkerPool(this.d.api, { namespace, instanceName: name, spec, pool, workerPods });
      const now = this.now();
      status = statusOf({
        base: {
          ...base,
          replicas: workerPods,
          desiredReplicas: desired.replicas,
          replicasSource: desired.source,
          partitionMap: partitionMapStatus(previous?.partitionMap, plan, now),
        },
        workloads,
        handoff: plan.progress,
        now,
      });
      const scaled = workerPoolEvent(previous, desired, spec, namespace, pool);
      events = [
        ...(scaled ? [scaled] : []),
        ...handoffEvents(previous?.partitionMap, gathered.published, plan, status.partitionMap!),
      ];
    } catch (err) {
      const error = toReconcileError(err, `reconciling RudderInstance ${name}`);
      await this.writeStatus(
        name,
        previous,
        statusOf({ failure: { reason: error.reason, message: error.message } }),
      );
      await this.d.events.record(target, 'Warning', error.reason, error.message);
      throw error;
    }

    await this.writeStatus(name, previous, status);
    for (const event of events) await this.d.events.record(target, 'Normal', event.reason, event.message);
    if (status.observedGeneration !== previous?.observedGeneration)
      await this.d.events.record(
        target,
        'Normal',
        'Applied',
        `applied generation ${generation} to ${namespace}`,
      );
    const ready = readyCondition(status)?.status === 'True';
    if (ready && readyCondition(previous)?.status !== 'True')
      await this.d.events.record(target, 'Normal', 'Ready', readyCondition(status)?.message ?? 'ready');
    // While the operator itself has a step to take (publish the map, shrink the StatefulSet), look again
    // soon besides the watch events that normally trigger it. A handoff among the workers needs no
    // polling: each report they write wakes a reconcile (the report ConfigMap carries the operator's labels).
    const waiting = plan.progress.phase === 'ScalingUp' || plan.progress.phase === 'ScalingDown';
    return ready && !waiting
      ? { result: 'ready' }
      : { result: 'progressing', requeueAfterMs: this.d.requeueNotReadyMs };
  }

  /**
   * Everything the desired objects depend on besides the spec: secrets, and
   * the handoff plan from the published partition map, the worker
   * StatefulSet and the workers' reports.
   */
  private async gather(instance: RudderInstance, spec: DefaultedSpec, namespace: string): Promise<Gathered> {
    const name = instance.metadata!.name!;
    const owner = await this.d.api.namespaceOwner(namespace, INSTANCE_LABEL);
    if (owner !== null && owner !== name)
      throw new ReconcileError(
        'NamespaceConflict',
        `namespace ${namespace} exists and is not this instance's (${owner ? `it belongs to RudderInstance ${owner}` : 'it has no rudder.dev/instance label'})`,
      );
    const ref = spec.controlPlane.tokenSecretRef;
    const tokenSecret = await this.d.api.readSecret(ref.namespace, ref.name);
    const dataplaneToken = tokenSecret?.[ref.key];
    if (dataplaneToken === undefined)
      throw new ReconcileError(
        'TokenSecretMissing',
        `the data-plane token Secret ${ref.namespace}/${ref.name} (key ${ref.key}) does not exist yet`,
      );
    let externalDatabaseUrl: string | undefined;
    const external = spec.database.external;
    if (external) {
      const urlRef = { key: 'url', ...external.urlSecretRef };
      externalDatabaseUrl = (await this.d.api.readSecret(urlRef.namespace, urlRef.name))?.[urlRef.key];
      if (externalDatabaseUrl === undefined)
        throw new ReconcileError(
          'DatabaseSecretMissing',
          `the external database Secret ${urlRef.namespace}/${urlRef.name} (key ${urlRef.key}) does not exist`,
        );
    }
    // Generated once and kept: a namespace that exists already has them.
    const exists = owner !== null;
    const [credentials, admin, mapData, reportData, workerSet, pool] = await Promise.all([
      exists ? this.d.api.readSecret(namespace, 'postgres-credentials') : undefined,
      exists ? this.d.api.readSecret(namespace, 'admin-token') : undefined,
      exists ? this.d.api.readConfigMap(namespace, PARTITION_MAP_CONFIGMAP) : undefined,
      exists ? this.d.api.readConfigMap(namespace, PARTITION_STATUS_CONFIGMAP) : undefined,
      exists ? this.d.workerSets.readWorkerSet(namespace, WORKER_NAME) : undefined,
      // Read without autoscaling too: a pool left from when it was set is deleted.
      exists ? this.d.api.readWorkerPool(namespace, WORKER_POOL_NAME) : undefined,
    ]);
    const published = parsePartitionMap(mapData?.[PARTITION_MAP_KEY]);
    // With autoscaling, the count the HPA wrote to the WorkerPool; the handoff below gets there step by step.
    const { desired, seed } = workerCount(instance, spec, pool);
    const plan = planHandoff({
      partitions: spec.dataPlane.partitions,
      desiredReplicas: desired.replicas,
      published,
      lastEpoch: instance.status?.partitionMap?.epoch,
      workerSet,
      reports: workerReports(reportData),
    });
    const input: DesiredInput = {
      instance: { name, uid: instance.metadata!.uid! },
      spec,
      secrets: {
        postgresPassword: credentials?.password ?? secret(),
        adminToken: admin?.token ?? secret(),
        dataplaneToken,
        ...(externalDatabaseUrl !== undefined ? { externalDatabaseUrl } : {}),
      },
      partitionMap: plan.map,
      workerReplicas: plan.statefulSetReplicas,
      operatorNamespace: this.d.operatorNamespace,
      apiServerEndpoints: await this.apiServerEndpoints(),
    };
    return { input, plan, published, desired, pool, seed };
  }

  /** The API server's addresses change rarely; read them at most once a minute. */
  private async apiServerEndpoints(): Promise<{ ip: string; port: number }[]> {
    if (this.apiServer === undefined || Date.now() - this.apiServer.at > 60_000) {
      try {
        this.apiServer = { endpoints: await this.d.api.apiServerEndpoints(), at: Date.now() };
      } catch (err) {
        // Without them workers cannot watch the partition map; keep the last known ones and say so.
        this.d.logger.warn({ error: String(err) }, 'could not read the API server endpoints');
        return this.apiServer?.endpoints ?? [];
      }
    }
    return this.apiServer.endpoints;
  }

  /**
   * Applies in three waves: the namespace, what workloads need (Roles,
   * secrets, config), then the workloads and the RoleBindings. A RoleBinding
   * goes after its Role: without the `bind` verb, the API server's escalation
   * check reads the Role, and refuses the binding (404) while it is missing.
   */
  private async applyAll(
    objects: k8s.KubernetesObject[],
    target: EventTarget,
    started: number,
    /** A WorkerPool to create (once its namespace exists) before the applies of wave 1. */
    seed?: WorkerPool,
  ): Promise<k8s.KubernetesObject[]> {
    const wave = (o: k8s.KubernetesObject): number =>
      o.kind === 'Namespace'
        ? 0
        : [
              'Deployment',
              'StatefulSet',
              'PodDisruptionBudget',
              'Ingress',
              'RoleBinding',
              'HorizontalPodAutoscaler',
            ].includes(o.kind!)
          ? 2
          : 1;
    const applied: k8s.KubernetesObject[] = [];
    for (const n of [0, 1, 2]) {
      if (n === 1 && seed)
        await this.d.api.createWorkerPool(seed).catch((err: unknown) => {
          throw toReconcileError(err, `creating WorkerPool ${seed.metadata.namespace}/${seed.metadata.name}`);
        });
      const batch = objects.filter((o) => wave(o) === n);
      const results = await Promise.all(
        batch.map(async (o) => {
          try {
            return await this.d.api.apply(o);
          } catch (err) {
            throw toReconcileError(err, `applying ${o.kind} ${describe(o)}`, o.kind === 'Secret');
          }
        }),
      );
      applied.push(...results);
    }
    const created = applied.filter((o) => this.noteCreated(o, started));
    if (created.length > 0)
      await this.d.events.record(
        target,
        'Normal',
        'Created',
        `created ${created.map((o) => `${o.kind} ${describe(o)}`).join(', ')}`,
      );
    return applied;
  }

  private noteCreated(o: k8s.KubernetesObject, started: number): boolean {
    const key = `${o.kind}/${describe(o)}`;
    const uid = o.metadata?.uid ?? '';
    const before = this.uids.get(key);
    this.uids.set(key, uid);
    if (before !== undefined) return before !== uid;
    // Creation timestamps have whole seconds.
    const created = o.metadata?.creationTimestamp ? new Date(o.metadata.creationTimestamp).getTime() : 0;
    return created >= started - 1000;
  }

  private async finalize(instance: RudderInstance, target: EventTarget): Promise<ReconcileOutcome> {
    const name = instance.metadata!.name!;
    const finalizers = instance.metadata!.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return { result: 'deleted' };
    const namespace = tenantNamespace(instance.spec);
    const owner = await this.d.api.namespaceOwner(namespace, INSTANCE_LABEL);
    // Never delete a namespace another instance (or someone else) owns.
    if (owner === name) {
      const state = await this.d.api.deleteNamespace(namespace);
      if (state === 'terminating') {
        await this.d.events.record(target, 'Normal', 'DeletingNamespace', `deleting namespace ${namespace}`);
        return { result: 'terminating', requeueAfterMs: 1000 };
      }
    }
    await this.d.api.setFinalizers(
      name,
      instance.metadata!.resourceVersion ?? '',
      finalizers.filter((f) => f !== FINALIZER),
    );
    for (const key of this.uids.keys()) if (key.includes(`/${namespace}/`)) this.uids.delete(key);
    this.d.logger.info({ instance: name, namespace }, 'namespace deleted; finalizer released');
    return { result: 'deleted' };
  }

  private async writeStatus(
    name: string,
    previous: RudderInstanceStatus | undefined,
    next: RudderInstanceStatus,
  ): Promise<void> {
    if (sameStatus(previous, next)) return;
    await this.d.api.applyStatus(name, next);
  }

  private now(): Date {
    return this.d.now?.() ?? new Date();
  }
}

/** The reports in the partition-status ConfigMap; a value that is malformed or filed under another worker's key is left out. */
function workerReports(data: Record<string, string> | undefined): WorkerReport[] {
  const reports: WorkerReport[] = [];
  for (const [key, value] of Object.entries(data ?? {})) {
    const report = parseWorkerReport(value);
    if (report?.worker === key) reports.push(report);
  }
  return reports;
}

function describe(o: k8s.KubernetesObject): string {
  return o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata?.name ?? '?');
}

/** A generated credential: 32 random bytes, URL-safe. */
function secret(): string {
  return randomBytes(32).toString('base64url');
}
