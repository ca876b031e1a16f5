import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '@rudder/common';

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
  private readonly lib: typeof k8s;
  private readonly watcher: k8s.Watch;
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly o: TriggerWatchOptions;
  private resourceVersion: string | undefined;
  private request: AbortController | undefined;
  /** Identifies the watch in progress, so the end of an abandoned one is ignored. */
  private current: object | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs: number;
  private stopped = true;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, options: TriggerWatchOptions) {
    this.lib = lib;
    this.o = options;
    this.restartDelayMs = options.minRestartMs ?? 500;
    this.objects = lib.KubernetesObjectApi.makeApiClient(kc);
    // The watch's requests go through kc with one header changed: Accept.
    const metadataOnly = {
      getCurrentCluster: () => kc.getCurrentCluster(),
      applySecurityAuthentication: async (context: k8s.RequestContext) => {
        await kc.applySecurityAuthentication(context);
        context.setHeaderParam('Accept', METADATA_ONLY);
      },
    } as unknown as k8s.KubeConfig;
    this.watcher = new lib.Watch(metadataOnly);
    // client-node ends a watch after 30 s without data (a private field, hence the cast); a quiet
    // kind is normal here. Bookmarks come about once a minute, and the server ends the watch at its
    // timeout: only silence past both means a dead connection.
    (this.watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs =
      (WATCH_SECONDS * 1.2 + 60) * 1000;
  }

  /** Starts from the current state (no events for what exists now); resolves once watching or retrying. */
  async start(): Promise<void> {
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

  /** The current resourceVersion of the collection: a one-item list, since the contents do not matter. */
  private async relist(): Promise<void> {
    const list = await this.objects.list(
      this.o.apiVersion,
      this.o.kind,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      this.o.labelSelector,
      1,
    );
    this.resourceVersion = list.metadata?.resourceVersion;
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const token = {};
    this.current = token;
    const request = await this.watcher.watch(
      this.o.path,
      {
        labelSelector: this.o.labelSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.round(WATCH_SECONDS * (1 + Math.random() * 0.2)),
      },
      (type: string, object: { metadata?: k8s.V1ObjectMeta; code?: number }) => {
        if (this.current === token) this.event(type, object);
      },
      (err: unknown) => this.ended(token, err),
    );
    // The watch may have ended (or been abandoned) before it returned.
    if (this.current === token) this.request = request;
    else request.abort();
  }

  private abandon(): void {
    this.current = undefined;
    this.request?.abort();
    this.request = undefined;
  }

  private event(type: string, object: { metadata?: k8s.V1ObjectMeta; code?: number }): void {
    if (type === 'ERROR') {
      // A Status in the stream: 410 means the resourceVersion is too old to resume from.
      this.failed(object.code === 410 ? new GoneError() : new Error(`watch error ${JSON.stringify(object)}`));
      return;
    }
    const version = object.metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
    this.restartDelayMs = this.o.minRestartMs ?? 500;
    if (type !== 'BOOKMARK' && object.metadata) this.o.onChange(object.metadata);
  }

  private ended(token: object, err: unknown): void {
    if (this.stopped || token !== this.current) return;
    this.abandon();
    if (err) this.failed(err);
    // The server closed the watch at its timeout: resume where it ended.
    else this.watch().catch((e: unknown) => this.failed(e));
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    this.abandon();
    const gone = err instanceof GoneError || (err as { statusCode?: unknown })?.statusCode === 410;
    if (!gone) this.o.onError?.(this.o.name);
    const delay = gone ? 0 : this.restartDelayMs;
    if (!gone) this.restartDelayMs = Math.min(this.o.maxRestartMs ?? 30_000, delay * 2);
    this.o.logger[gone ? 'info' : 'warn'](
      { watch: this.o.name, error: err instanceof Error ? err.message : String(err), retryInMs: delay },
      gone ? 'watch too old to resume; relisting' : 'watch failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(gone), delay);
    this.restartTimer.unref();
  }

  private async restart(relist: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      if (relist || this.resourceVersion === undefined) {
        await this.relist();
        // What changed between the old and the new resourceVersion is unknown.
        this.o.onResync();
      }
      await this.watch();
    } catch (err) {
      this.failed(err);
    }
  }
}

class GoneError extends Error {
  constructor() {
    super('410 Gone: resourceVersion too old');
  }
}
