import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '@rudder/common';
import { RUDDER_INSTANCE_RESOURCE as R, type RudderInstance } from '@rudder/common/rudder-instance';
import { FIELD_MANAGER, INSTANCE_LABEL } from '../desired/index.ts';
import type { ClusterApi } from '../kube/cluster-api.ts';
import type { OperatorMetrics } from '../metrics.ts';
import { ReconcileError } from '../errors.ts';
import type { Reconciler } from '../reconcile/reconciler.ts';
import { Informer } from './informer.ts';
import { TriggerWatch } from './trigger-watch.ts';
import { WorkQueue } from './work-queue.ts';

/** The kinds the operator creates in tenant namespaces, watched so a change or deletion by hand is undone. */
const OWNED: { apiVersion: string; kind: string; path: string }[] = [
  { apiVersion: 'v1', kind: 'Namespace', path: '/api/v1/namespaces' },
  { apiVersion: 'v1', kind: 'ResourceQuota', path: '/api/v1/resourcequotas' },
  { apiVersion: 'v1', kind: 'LimitRange', path: '/api/v1/limitranges' },
  { apiVersion: 'v1', kind: 'ServiceAccount', path: '/api/v1/serviceaccounts' },
  { apiVersion: 'v1', kind: 'Secret', path: '/api/v1/secrets' },
  { apiVersion: 'v1', kind: 'ConfigMap', path: '/api/v1/configmaps' },
  { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
  { apiVersion: 'apps/v1', kind: 'Deployment', path: '/apis/apps/v1/deployments' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet', path: '/apis/apps/v1/statefulsets' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', path: '/apis/policy/v1/poddisruptionbudgets' },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    path: '/apis/networking.k8s.io/v1/networkpolicies',
  },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', path: '/apis/networking.k8s.io/v1/ingresses' },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    path: '/apis/rbac.authorization.k8s.io/v1/roles',
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    path: '/apis/rbac.authorization.k8s.io/v1/rolebindings',
  },
  // With autoscaling: the HPA writes the WorkerPool's spec.replicas, and that change must start the handoff.
  { apiVersion: 'rudder.dev/v1alpha1', kind: 'WorkerPool', path: '/apis/rudder.dev/v1alpha1/workerpools' },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    path: '/apis/autoscaling/v2/horizontalpodautoscalers',
  },
];
const OWNED_SELECTOR = `app.kubernetes.io/managed-by=${FIELD_MANAGER}`;
/** The control plane labels the token Secrets it writes; a rotated token must reach the tenant's pods. */
const TOKEN_SECRET_SELECTOR = 'app.kubernetes.io/managed-by=rudder-controlplane';

export interface ControllerOptions {
  lib: typeof k8s;
  kc: k8s.KubeConfig;
  api: ClusterApi;
  reconciler: Reconciler;
  metrics: OperatorMetrics;
  logger: Logger;
  workers: number;
  resyncMs: number;
  backoff: { baseMs: number; maxMs: number };
}

/**
 * Watches RudderInstances and everything they own, and runs reconciles from a
 * rate-limited work queue with `workers` workers (never two for one instance).
 * Level-triggered: events only say *which* instance to look at; the reconcile
 * reads the current state. Every instance is also resynced every `resyncMs`.
 */
export class Controller {
  private readonly o: ControllerOptions;
  private readonly queue: WorkQueue;
  private readonly watches: TriggerWatch[] = [];
  private readonly instances: Informer<RudderInstance & k8s.KubernetesObject>;
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(options: ControllerOptions) {
    this.o = options;
    const { lib, kc, logger, metrics } = options;
    this.queue = new WorkQueue({
      baseDelayMs: options.backoff.baseMs,
      maxDelayMs: options.backoff.maxMs,
      onDepth: (n) => metrics.queueDepth.set(n),
    });
    const onError = (name: string) => metrics.watchRestarts.inc({ informer: name });
    this.instances = new Informer(lib, kc, {
      name: `${R.group}/${R.version} ${R.kind}`,
      path: `/apis/${R.group}/${R.version}/${R.plural}`,
      list: () => options.api.listInstances(),
      onEvent: (event, instance) => {
        // list() copies the cache: only when the count can change, not on every status update.
        if (event !== 'update') metrics.instances.set(this.instances.list().length);
        if (instance.metadata?.name) this.queue.add(instance.metadata.name);
      },
      onError,
      logger,
    });
    const resync = (): void => this.enqueueAll();
    for (const owned of OWNED)
      this.watches.push(
        new TriggerWatch(lib, kc, {
          name: `${owned.apiVersion} ${owned.kind}`,
          ...owned,
          labelSelector: OWNED_SELECTOR,
          onChange: (metadata) => this.ownedChanged(metadata),
          onResync: resync,
          onError,
          logger,
        }),
      );
    this.watches.push(
      new TriggerWatch(lib, kc, {
        name: 'v1 Secret (data-plane tokens)',
        apiVersion: 'v1',
        kind: 'Secret',
        path: '/api/v1/secrets',
        labelSelector: TOKEN_SECRET_SELECTOR,
        onChange: (metadata) => this.tokenSecretChanged(metadata),
        onResync: resync,
        onError,
        logger,
      }),
    );
  }

  /** Lists everything, then starts the workers and the periodic resync. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await Promise.all([this.instances.start(), ...this.watches.map((w) => w.start())]);
    this.o.logger.info(
      { instances: this.instances.list().length, workers: this.o.workers },
      'controller started',
    );
    this.workers = Array.from({ length: this.o.workers }, () => this.work());
    this.scheduleResync();
  }

  /** Stops taking work and waits for the reconciles in flight. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all([this.instances.stop(), ...this.watches.map((w) => w.stop())]);
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    for (;;) {
      const name = await this.queue.get();
      if (name === undefined) return;
      const timer = this.o.metrics.reconcileDuration.startTimer();
      try {
        const outcome = await this.o.reconciler.reconcile(name);
        this.queue.forget(name);
        this.o.metrics.reconciles.inc({ result: outcome.result });
        if ('requeueAfterMs' in outcome) this.queue.addAfter(name, outcome.requeueAfterMs);
      } catch (err) {
        const reason = err instanceof ReconcileError ? err.reason : 'InternalError';
        this.o.metrics.reconciles.inc({ result: 'error' });
        this.o.metrics.reconcileErrors.inc({ reason });
        const retryInMs = this.queue.addRateLimited(name);
        this.o.logger.warn(
          { instance: name, reason, error: err instanceof Error ? err.message : String(err), retryInMs },
          'reconcile failed',
        );
      } finally {
        timer();
        this.queue.done(name);
      }
    }
  }

  private ownedChanged(metadata: k8s.V1ObjectMeta): void {
    const instance = metadata.labels?.[INSTANCE_LABEL];
    if (instance === undefined) return;
    // A deletion by hand, an edit and a workload's status change all matter; the reconcile decides what to do.
    this.queue.add(instance);
  }

  private tokenSecretChanged({ namespace, name }: k8s.V1ObjectMeta): void {
    for (const instance of this.instances.list()) {
      const ref = instance.spec?.controlPlane?.tokenSecretRef;
      if (ref?.namespace === namespace && ref?.name === name && instance.metadata?.name)
        this.queue.add(instance.metadata.name);
    }
  }

  private enqueueAll(): void {
    for (const instance of this.instances.list())
      if (instance.metadata?.name) this.queue.add(instance.metadata.name);
  }

  private scheduleResync(): void {
    if (this.o.resyncMs <= 0) return;
    this.resyncTimer = setTimeout(() => {
      this.enqueueAll();
      this.scheduleResync();
    }, this.o.resyncMs);
    this.resyncTimer.unref();
  }
}
