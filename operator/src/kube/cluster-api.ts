import type * as k8s from '@kubernetes/client-node';
import {
  RUDDER_INSTANCE_RESOURCE,
  type RudderInstance,
  type RudderInstanceStatus,
} from '@rudder/common/rudder-instance';
import { WORKER_POOL_RESOURCE as P, type WorkerPool, type WorkerPoolStatus } from '../desired/worker-pool.ts';

const R = RUDDER_INSTANCE_RESOURCE;

/**
 * The Kubernetes calls the reconciler makes, in one place: reads of the
 * instance and of the Secrets/ConfigMaps it depends on, server-side apply of
 * the desired objects and of the status, finalizer updates and namespace
 * deletion, and the WorkerPool's creation, status and removal. Every write names the operator's field manager.
 */
export class ClusterApi {
  private readonly lib: typeof k8s;
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly discovery: k8s.DiscoveryV1Api;
  private readonly autoscaling: k8s.AutoscalingV2Api;
  private readonly fieldManager: string;
  private readonly applyHeader: k8s.ConfigurationOptions;
  private readonly mergeHeader: k8s.ConfigurationOptions;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, fieldManager: string) {
    this.lib = lib;
    this.objects = lib.KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(lib.CoreV1Api);
    this.custom = kc.makeApiClient(lib.CustomObjectsApi);
    this.discovery = kc.makeApiClient(lib.DiscoveryV1Api);
    this.autoscaling = kc.makeApiClient(lib.AutoscalingV2Api);
    this.fieldManager = fieldManager;
    this.applyHeader = lib.setHeaderOptions('Content-Type', lib.PatchStrategy.ServerSideApply);
    this.mergeHeader = lib.setHeaderOptions('Content-Type', lib.PatchStrategy.MergePatch);
  }

  isNotFound(err: unknown): boolean {
    return err instanceof this.lib.ApiException && err.code === 404;
  }

  isConflict(err: unknown): boolean {
    return err instanceof this.lib.ApiException && err.code === 409;
  }

  async getInstance(name: string): Promise<RudderInstance | undefined> {
    try {
      return (await this.custom.getClusterCustomObject({ ...this.ref(), name })) as RudderInstance;
    } catch (err) {
      if (this.isNotFound(err)) return undefined;
      throw err;
    }
  }

  async listInstances(): Promise<k8s.KubernetesListObject<RudderInstance & k8s.KubernetesObject>> {
    return (await this.custom.listClusterCustomObject(this.ref())) as k8s.KubernetesListObject<
      RudderInstance & k8s.KubernetesObject
    >;
  }

  /** Sets metadata.finalizers, failing with 409 when the instance changed since `resourceVersion`. */
  async setFinalizers(name: string, resourceVersion: string, finalizers: string[]): Promise<RudderInstance> {
    return (await this.custom.patchClusterCustomObject(
      { ...this.ref(), name, body: { metadata: { resourceVersion, finalizers } } },
      this.mergeHeader,
    )) as RudderInstance;
  }

  /** Applies the status subresource (the operator owns all of .status). */
  async applyStatus(name: string, status: RudderInstanceStatus): Promise<void> {
    await this.custom.patchClusterCustomObjectStatus(
      {
        ...this.ref(),
        name,
        body: { apiVersion: `${R.group}/${R.version}`, kind: R.kind, metadata: { name }, status },
        fieldManager: this.fieldManager,
        force: true,
      },
      this.applyHeader,
    );
  }

  /** Server-side apply of one object; returns the object as stored (with its status). */
  async apply<T extends k8s.KubernetesObject>(object: T): Promise<T> {
    return this.objects.patch(
      object,
      undefined,
      undefined,
      this.fieldManager,
      true,
      this.lib.PatchStrategy.ServerSideApply,
    );
  }

  /** A Secret's decoded data, or undefined when it does not exist. */
  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const secret = await this.core.readNamespacedSecret({ namespace, name });
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    } catch (err) {
      if (this.isNotFound(err)) return undefined;
      throw err;
    }
  }

  async readConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      return (await this.core.readNamespacedConfigMap({ namespace, name })).data ?? {};
    } catch (err) {
      if (this.isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Addresses of the API server (the `kubernetes` Service's EndpointSlices), for the workers' egress policy. */
  async apiServerEndpoints(): Promise<{ ip: string; port: number }[]> {
    const slices = await this.discovery.listNamespacedEndpointSlice({
      namespace: 'default',
      labelSelector: 'kubernetes.io/service-name=kubernetes',
    });
    const out: { ip: string; port: number }[] = [];
    for (const slice of slices.items) {
      const port = slice.ports?.find((p) => p.name === 'https')?.port ?? slice.ports?.[0]?.port;
      if (port === undefined) continue;
      for (const endpoint of slice.endpoints ?? [])
        for (const ip of endpoint.addresses) out.push({ ip, port });
    }
    return out.sort((a, b) => `${a.ip}:${a.port}`.localeCompare(`${b.ip}:${b.port}`));
  }

  /** The `rudder.dev/instance` label of a namespace: null when it does not exist, '' when unlabelled. */
  async namespaceOwner(name: string, label: string): Promise<string | null> {
    try {
      return (await this.core.readNamespace({ name })).metadata?.labels?.[label] ?? '';
    } catch (err) {
      if (this.isNotFound(err)) return null;
      throw err;
    }
  }

  /** Deletes the namespace (and so everything in it); `gone` once it no longer exists. */
  async deleteNamespace(name: string): Promise<'gone' | 'terminating'> {
    try {
      const ns = await this.core.readNamespace({ name });
      if (ns.metadata?.deletionTimestamp === undefined)
        await this.core.deleteNamespace({ name, propagationPolicy: 'Background' });
      return 'terminating';
    } catch (err) {
      if (this.isNotFound(err)) return 'gone';
      throw err;
    }
  }

  /** The WorkerPool, or undefined when it (or its CRD) does not exist. */
  async readWorkerPool(namespace: string, name: string): Promise<WorkerPool | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...poolRef, namespace, name })) as WorkerPool;
    } catch (err) {
      if (this.isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Creates a missing WorkerPool with its starting spec.replicas (a create,
   * not an apply: the operator's applies then leave the field to the HPA);
   * one that appeared meanwhile is left as it is.
   */
  async createWorkerPool(pool: WorkerPool): Promise<void> {
    try {
      await this.custom.createNamespacedCustomObject({
        ...poolRef,
        namespace: pool.metadata.namespace!,
        body: pool,
        fieldManager: this.fieldManager,
      });
    } catch (err) {
      if (!this.isConflict(err)) throw err;
    }
  }

  /** Applies the WorkerPool's status subresource (the operator owns all of it). */
  async applyWorkerPoolStatus(namespace: string, name: string, status: WorkerPoolStatus): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus(
      {
        ...poolRef,
        namespace,
        name,
        body: { apiVersion: `${P.group}/${P.version}`, kind: P.kind, metadata: { name, namespace }, status },
        fieldManager: this.fieldManager,
        force: true,
      },
      this.applyHeader,
    );
  }

  /** Deletes the HorizontalPodAutoscaler, then the WorkerPool, of that name; what is gone already is fine. */
  async deleteAutoscaling(namespace: string, name: string): Promise<void> {
    const gone = (err: unknown): void => {
      if (!this.isNotFound(err)) throw err;
    };
    await this.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ namespace, name }).catch(gone);
    await this.custom.deleteNamespacedCustomObject({ ...poolRef, namespace, name }).catch(gone);
  }

  private ref(): { group: string; version: string; plural: string } {
    return { group: R.group, version: R.version, plural: R.plural };
  }
}

const poolRef = { group: P.group, version: P.version, plural: P.plural };
