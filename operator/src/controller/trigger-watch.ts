import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '@rudder/common';
import { ResumableWatch } from '@rudder/common/kube-watch';

/** Ask the API server for metadata only (what `kubectl get -o name` and client-go's metadata informers use). */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
/** The server ends each watch after this long (jittered), and the watch resumes from its last resourceVersion. */
const WATCH_SECONDS = 300;

export interface TriggerWatchOptions {
  /** Names the watch in logs and metrics, e.g. `apps/v1 Deployment`. */
  name: string;
  apiVersion: string;
  kind: string;
  /** The cluster-wide watch path, e.g. `/apis/apps/v1/deployments`. */
  path: string;
  labelSelector: string;
  /** An object matching the selector was added, changed or deleted. */
  onChange: (metadata: k8s.V1ObjectMeta) => void;
  /** Changes may have been missed (the watch could not resume): everything should be looked at again. */
  onResync: () => void;
  /** Called for every failed list or watch, before it is retried. */
  onError?: (name: string) => void;
  logger: Logger;
  minRestartMs?: number;
  maxRestartMs?: number;
}

/**
 * Watches one kind for changes without caching it. The operator only needs
 * to know *which* instance an owned object belongs to (its instance label);
 * the reconcile reads and applies the rest. So the watch asks for metadata
 * only, keeps nothing but its resourceVersion, and a gap it cannot resume
 * from (410 Gone) becomes a resync of every instance. An informer's cache of
 * every owned object of every tenant, managedFields included, was most of the
 * operator's memory.
 */
export class TriggerWatch {
  private readonly watch: ResumableWatch<k8s.KubernetesObject>;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, options: TriggerWatchOptions) {
    const objects = lib.KubernetesObjectApi.makeApiClient(kc);
    // The watch's requests go through kc with one header changed: Accept.
    const metadataOnly = {
      getCurrentCluster: () => kc.getCurrentCluster(),
      applySecurityAuthentication: async (context: k8s.RequestContext) => {
        await kc.applySecurityAuthentication(context);
        context.setHeaderParam('Accept', METADATA_ONLY);
      },
    } as unknown as k8s.KubeConfig;
    const { name, onError } = options;
    this.watch = new ResumableWatch({
      name,
      watcher: new lib.Watch(metadataOnly),
      path: options.path,
      query: { labelSelector: options.labelSelector },
      timeoutSeconds: WATCH_SECONDS,
      // The current resourceVersion of the collection: a one-item list, since the contents do not matter.
      list: async () => {
        const list = await objects.list(
          options.apiVersion,
          options.kind,
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          options.labelSelector,
          1,
        );
        return list.metadata?.resourceVersion;
      },
      onEvent: (_type, object) => {
        if (object.metadata) options.onChange(object.metadata);
      },
      onResync: options.onResync,
      onError: () => onError?.(name),
      logger: options.logger,
      minRestartMs: options.minRestartMs,
      maxRestartMs: options.maxRestartMs,
    });
  }

  /** Starts from the current state (no events for what exists now); resolves once watching or retrying. */
  start(): Promise<void> {
    return this.watch.start();
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }
}
