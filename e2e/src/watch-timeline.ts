import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

/** One change of a watched object, as the API server reported it. */
export interface TimelineEntry<T extends KubernetesObject = KubernetesObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /**
   * The object's resourceVersion as a number. On this harness's clusters
   * (one etcd) it is etcd's revision, which orders changes across every
   * object and kind: what a test compares to say "this happened before that".
   */
  revision: number;
  /** Milliseconds since the timeline started, when the change was seen. */
  at: number;
  object: T;
}

/** Bounds the server's watch requests: client-node aborts one after 30 s without data. */
const WATCH_SECONDS = 20;
const MAX_ERRORS = 5;

/**
 * Every change of the objects under `path` (a collection URL such as
 * `/api/v1/namespaces/x/configmaps`, narrowed by `fieldSelector`), from the
 * state at the start: one watch after another, each resuming from the last
 * revision seen, so no change is missed (a 410 Gone, after etcd compacted,
 * throws at `entries()`: the timeline would have a hole).
 */
export class WatchTimeline<T extends KubernetesObject = KubernetesObject> {
  private readonly list: TimelineEntry<T>[] = [];
  private readonly watch: Watch;
  private readonly started = performance.now();
  private revision: string | undefined;
  private request: AbortController | undefined;
  private stopped = false;
  private failure: Error | undefined;
  /** Watch requests in a row that failed without delivering anything. */
  private errors = 0;
  private readonly path: string;
  private readonly fieldSelector: string | undefined;

  private constructor(kc: KubeConfig, path: string, fieldSelector: string | undefined) {
    this.watch = new Watch(kc);
    this.path = path;
    this.fieldSelector = fieldSelector;
  }

  /** Starts watching; resolves once the first watch request was accepted. */
  static async start<T extends KubernetesObject>(
    kc: KubeConfig,
    path: string,
    fieldSelector?: string,
  ): Promise<WatchTimeline<T>> {
    const timeline = new WatchTimeline<T>(kc, path, fieldSelector);
    await timeline.next();
    return timeline;
  }

  /** The changes so far, oldest first. Throws if the watch broke off for good. */
  entries(): TimelineEntry<T>[] {
    if (this.failure) throw this.failure;
    return [...this.list];
  }

  stop(): void {
    this.stopped = true;
    this.request?.abort();
  }

  private async next(): Promise<void> {
    if (this.stopped) return;
    const params: Record<string, string | number | boolean> = {
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_SECONDS,
    };
    if (this.fieldSelector) params['fieldSelector'] = this.fieldSelector;
    // No resourceVersion the first time: the current state as ADDED events, then the changes.
    if (this.revision !== undefined) params['resourceVersion'] = this.revision;
    this.request = await this.watch.watch(
      this.path,
      params,
      (type: string, object: T & { code?: number; message?: string }) => this.event(type, object),
      (err: unknown) => {
        if (this.stopped) return;
        const failed = err && (err as { name?: string }).name !== 'TimeoutError';
        // A dropped connection: resume as after the server's own timeout, but not forever.
        if (failed && ++this.errors >= MAX_ERRORS) return this.fail(err);
        setTimeout(() => void this.next().catch((e: unknown) => this.fail(e)), failed ? 200 : 0);
      },
    );
  }

  private event(type: string, object: T & { code?: number; message?: string }): void {
    if (type === 'ERROR') {
      this.fail(new Error(`watch of ${this.path} failed: ${object.code ?? ''} ${object.message ?? ''}`));
      return;
    }
    this.errors = 0;
    const version = object.metadata?.resourceVersion;
    if (version) this.revision = version;
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
      this.list.push({ type, revision: Number(version), at: performance.now() - this.started, object });
    }
  }

  private fail(err: unknown): void {
    this.failure ??= err instanceof Error ? err : new Error(String(err));
    this.stop();
  }
}
