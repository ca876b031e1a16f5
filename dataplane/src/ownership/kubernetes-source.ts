import type * as k8s from '@kubernetes/client-node';
import { describeKubeApiError, type Logger } from '@rudder/common';
import { ResumableWatch } from '@rudder/common/kube-watch';
import {
  PARTITION_MAP_CONFIGMAP,
  PARTITION_MAP_KEY,
  PARTITION_STATUS_CONFIGMAP,
  parsePartitionMap,
  type PartitionMap,
  type WorkerReport,
} from '@rudder/common/partition-map';
import type { PartitionMapSource, ReportSink } from './map-source.ts';

export { PARTITION_MAP_CONFIGMAP, PARTITION_MAP_KEY, PARTITION_STATUS_CONFIGMAP };

/** The server ends each watch after about this long and the watch resumes from its last resourceVersion. */
const WATCH_SECONDS = 30;

/**
 * The map source and report sink of a worker pod, on one API client:
 * `KubeConfig.loadFromDefault()` (KUBECONFIG, else in-cluster), with one
 * connection pool for all requests. client-node is loaded only here, so
 * other modes never pay for it.
 */
export async function kubernetesOwnership(options: {
  namespace: string;
  workerId: string;
  logger: Logger;
}): Promise<{ source: KubernetesMapSource; sink: KubernetesReportSink }> {
  const lib = await import('@kubernetes/client-node');
  const { loadKubeConfig } = await import('@rudder/common/kube-config');
  const kc = loadKubeConfig();
  return {
    source: new KubernetesMapSource(lib, kc, options),
    sink: new KubernetesReportSink(lib, kc, options),
  };
}

/**
 * Watches the `partition-map` ConfigMap of the worker's namespace: a list
 * (fieldSelector `metadata.name=partition-map`) for the current map and its
 * resourceVersion, then a watch from there (see ResumableWatch: resumes,
 * relists on 410 Gone, backs off on errors).
 */
export class KubernetesMapSource implements PartitionMapSource {
  private readonly watch: ResumableWatch<k8s.V1ConfigMap>;
  private readonly logger: Logger;
  private onMap: (map: PartitionMap) => void = () => {};
  private last: string | undefined;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, options: { namespace: string; logger: Logger }) {
    const core = kc.makeApiClient(lib.CoreV1Api);
    const { namespace, logger } = options;
    const fieldSelector = `metadata.name=${PARTITION_MAP_CONFIGMAP}`;
    this.logger = logger;
    this.watch = new ResumableWatch({
      name: 'partition map',
      watcher: new lib.Watch(kc),
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
      query: { fieldSelector },
      timeoutSeconds: WATCH_SECONDS,
      list: async () => {
        const list = await core.listNamespacedConfigMap({ namespace, fieldSelector });
        const item = list.items[0];
        if (item) this.deliver(item.data?.[PARTITION_MAP_KEY]);
        else logger.warn({ namespace }, 'no partition map published yet; waiting for it');
        return list.metadata?.resourceVersion;
      },
      onEvent: (type, configMap: k8s.V1ConfigMap) => {
        if (type === 'DELETED') logger.warn('the partition map ConfigMap was deleted; keeping the last map');
        else this.deliver(configMap.data?.[PARTITION_MAP_KEY]);
      },
      logger,
    });
  }

  async start(onMap: (map: PartitionMap) => void): Promise<void> {
    this.onMap = onMap;
    await this.watch.start();
  }

  async stop(): Promise<void> {
    await this.watch.stop();
  }

  private deliver(text: string | undefined): void {
    if (text === undefined || text === this.last) return;
    this.last = text;
    const map = parsePartitionMap(text);
    if (!map) {
      this.logger.error(`${PARTITION_MAP_CONFIGMAP} holds no valid ${PARTITION_MAP_KEY}; ignored`);
      return;
    }
    this.onMap(map);
  }
}

/**
 * Writes this worker's report into the `partition-status` ConfigMap with
 * server-side apply: only `data[<workerId>]`, as field manager
 * `rudder-worker-<workerId>`, so workers never conflict with each other or
 * with the operator (which owns the object's labels).
 */
export class KubernetesReportSink implements ReportSink {
  private readonly core: k8s.CoreV1Api;
  private readonly applyHeader: k8s.ConfigurationOptions;
  private readonly namespace: string;
  private readonly workerId: string;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, options: { namespace: string; workerId: string }) {
    this.core = kc.makeApiClient(lib.CoreV1Api);
    this.applyHeader = lib.setHeaderOptions('Content-Type', lib.PatchStrategy.ServerSideApply);
    this.namespace = options.namespace;
    this.workerId = options.workerId;
  }

  async write(report: WorkerReport): Promise<void> {
    try {
      await this.core.patchNamespacedConfigMap(
        {
          name: PARTITION_STATUS_CONFIGMAP,
          namespace: this.namespace,
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: PARTITION_STATUS_CONFIGMAP, namespace: this.namespace },
            data: { [this.workerId]: JSON.stringify(report) },
          },
          fieldManager: `rudder-worker-${this.workerId}`,
          force: true,
        },
        this.applyHeader,
      );
    } catch (err) {
      throw new Error(describe(`apply of ${PARTITION_STATUS_CONFIGMAP}`, err), { cause: err });
    }
  }
}

function describe(what: string, err: unknown): string {
  return (
    describeKubeApiError(what, err, true) ?? `${what}: ${err instanceof Error ? err.message : String(err)}`
  );
}
