import type * as k8s from '@kubernetes/client-node';
import { describeKubeApiError, type Logger } from '@rudder/common';
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
/** Silence this long means a dead connection (the server's own timeout and bookmarks come well before). */
const WATCH_INACTIVITY_MS = (WATCH_SECONDS * 1.2 + 20) * 1000;
const MIN_RESTART_MS = 500;
const MAX_RESTART_MS = 30_000;

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
 * resourceVersion, then a watch from there with bookmarks. A watch the
 * server ends, or that goes silent, resumes from the last resourceVersion;
 * 410 Gone relists; other errors restart with capped exponential backoff.
 */
export class KubernetesMapSource implements PartitionMapSource {
  private readonly core: k8s.CoreV1Api;
  private readonly watcher: k8s.Watch;
  private readonly namespace: string;
  private readonly logger: Logger;
  private readonly fieldSelector = `metadata.name=${PARTITION_MAP_CONFIGMAP}`;
  private onMap: (map: PartitionMap) => void = () => {};
  private resourceVersion: string | undefined;
  private last: string | undefined;
  private request: AbortController | undefined;
  /** Identifies the watch in progress, so the end of an abandoned one is ignored. */
  private current: object | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs = MIN_RESTART_MS;
  private stopped = true;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, options: { namespace: string; logger: Logger }) {
    this.core = kc.makeApiClient(lib.CoreV1Api);
    this.watcher = new lib.Watch(kc);
    // client-node 2.0.1 aborts a watch after 30 s without data; ours end sooner by themselves.
    (this.watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_INACTIVITY_MS;
    this.namespace = options.namespace;
    this.logger = options.logger;
  }

  async start(onMap: (map: PartitionMap) => void): Promise<void> {
    this.onMap = onMap;
    this.stopped = false;
    try {
      await this.relist();
      await this.watch();
    } catch (err) {
      this.failed(err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.abandon();
  }

  private async relist(): Promise<void> {
    const list = await this.core.listNamespacedConfigMap({
      namespace: this.namespace,
      fieldSelector: this.fieldSelector,
    });
    this.resourceVersion = list.metadata?.resourceVersion;
    const item = list.items[0];
    if (item) this.deliver(item.data?.[PARTITION_MAP_KEY]);
    else this.logger.warn({ namespace: this.namespace }, 'no partition map published yet; waiting for it');
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const token = {};
    this.current = token;
    const request = await this.watcher.watch(
      `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`,
      {
        fieldSelector: this.fieldSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.round(WATCH_SECONDS * (1 + Math.random() * 0.2)),
      },
      (type: string, object: WatchObject) => {
        if (this.current === token) this.event(type, object);
      },
      (err: unknown) => this.ended(token, err),
    );
    // The watch may have ended (or been abandoned) before it returned.
    if (this.current === token) this.request = request;
    else request.abort();
  }

  private event(type: string, object: WatchObject): void {
    if (type === 'ERROR') {
      // A Status in the stream: 410 means the resourceVersion is too old to resume from.
      this.failed(object.code === 410 ? new GoneError() : new Error(`watch error ${object.code ?? ''}`));
      return;
    }
    const version = object.metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
    this.restartDelayMs = MIN_RESTART_MS;
    if (type === 'ADDED' || type === 'MODIFIED') this.deliver(object.data?.[PARTITION_MAP_KEY]);
    else if (type === 'DELETED')
      this.logger.warn('the partition map ConfigMap was deleted; keeping the last map');
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

  private ended(token: object, err: unknown): void {
    if (this.stopped || token !== this.current) return;
    this.abandon();
    // The server closed the watch at its timeout, or it went silent: resume where it ended.
    if (!err || isTimeout(err)) this.watch().catch((e: unknown) => this.failed(e));
    else this.failed(err);
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    this.abandon();
    const gone = err instanceof GoneError || (err as { statusCode?: unknown }).statusCode === 410;
    const delay = gone ? 0 : this.restartDelayMs;
    if (!gone) this.restartDelayMs = Math.min(MAX_RESTART_MS, delay * 2);
    this.logger[gone ? 'info' : 'warn'](
      { error: describe('partition map watch', err), retryInMs: delay },
      gone ? 'partition map watch too old to resume; relisting' : 'partition map watch failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(gone), delay);
    this.restartTimer.unref();
  }

  private async restart(relist: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      if (relist || this.resourceVersion === undefined) await this.relist();
      await this.watch();
    } catch (err) {
      this.failed(err);
    }
  }

  private abandon(): void {
    this.current = undefined;
    this.request?.abort();
    this.request = undefined;
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

interface WatchObject {
  metadata?: k8s.V1ObjectMeta;
  data?: Record<string, string>;
  /** Set on ERROR events (a Status). */
  code?: number;
}

class GoneError extends Error {
  constructor() {
    super('410 Gone: resourceVersion too old');
  }
}

function isTimeout(err: unknown): boolean {
  return (err as { name?: unknown }).name === 'TimeoutError';
}

function describe(what: string, err: unknown): string {
  return (
    describeKubeApiError(what, err, true) ?? `${what}: ${err instanceof Error ? err.message : String(err)}`
  );
}
