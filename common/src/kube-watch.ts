/**
 * A Kubernetes watch that keeps going: the restart machinery every watch of
 * the platform needs (the operator's trigger watches, a worker's watch of the
 * partition map), without client-node's informer and its cache.
 *
 * client-node is only a type here: the caller hands in a `Watch`, so a
 * program that never watches never loads the library.
 */
import type * as k8s from '@kubernetes/client-node';
import { describeKubeApiError } from './kube-status.ts';
import type { Logger } from './logger.ts';

/** The events a watch delivers; bookmarks only advance its resourceVersion. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** The one field of a watched object the watch itself reads. */
export interface WatchedObject {
  metadata?: { resourceVersion?: string };
}

export interface ResumableWatchOptions<T extends WatchedObject> {
  /** Names the watch in log lines, e.g. `partition map` or `apps/v1 Deployment`. */
  name: string;
  /**
   * The client-node Watch to use, with the KubeConfig (credentials, headers)
   * its requests go out with. The inactivity limit is set on it: give each
   * ResumableWatch its own.
   */
  watcher: k8s.Watch;
  /** The collection to watch, e.g. `/api/v1/namespaces/tenant-a/configmaps`. */
  path: string;
  /** Narrows the collection; the same selector the `list` callback uses. */
  query?: { labelSelector?: string; fieldSelector?: string };
  /** The server ends each watch after about this long (jittered up to +20%), and the watch resumes. */
  timeoutSeconds: number;
  /**
   * Silence this long (no event, no bookmark) means a dead connection: the
   * watch resumes. Default: 20 s past the latest the server can end a watch.
   */
  inactivityMs?: number | undefined;
  /**
   * Lists the collection and returns its resourceVersion: the watch starts
   * there. What the list holds is the caller's (a watch delivers no events
   * for what existed before it).
   */
  list: () => Promise<string | undefined>;
  /** An object was added, changed or deleted. */
  onEvent: (type: WatchEventType, object: T) => void;
  /**
   * The watch could not resume (410 Gone, or it never had a resourceVersion)
   * and listed again: changes in between were not seen as events.
   */
  onResync?: (() => void) | undefined;
  /** A list or watch failed and will be retried after a backoff (not called for 410 Gone or silence). */
  onError?: ((err: unknown) => void) | undefined;
  logger: Logger;
  /** Backoff after a failure: doubles from `minRestartMs` (default 500) up to `maxRestartMs` (default 30 s). */
  minRestartMs?: number | undefined;
  maxRestartMs?: number | undefined;
}

/**
 * Lists a collection once, then watches it from the list's resourceVersion
 * with bookmarks, keeping only the last resourceVersion seen:
 *
 * - the server ends the watch at its timeout, or the connection goes silent:
 *   resume from the last resourceVersion, at once;
 * - 410 Gone (the resourceVersion is too old to resume from): list again and
 *   call `onResync`;
 * - anything else (API server down, 403, 404): retry after a capped
 *   exponential backoff, reset by the next event.
 *
 * Started once; `stop()` ends it for good (a later `start()` does nothing).
 * Its timers never keep the process alive.
 */
export class ResumableWatch<T extends WatchedObject> {
  private readonly o: ResumableWatchOptions<T>;
  private readonly minRestartMs: number;
  private readonly maxRestartMs: number;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private resourceVersion: string | undefined;
  private request: AbortController | undefined;
  /** Identifies the watch in progress, so the events and end of an abandoned one are ignored. */
  private current: object | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs: number;

  constructor(options: ResumableWatchOptions<T>) {
    this.o = options;
    this.minRestartMs = options.minRestartMs ?? 500;
    this.maxRestartMs = options.maxRestartMs ?? 30_000;
    this.restartDelayMs = this.minRestartMs;
    // client-node aborts a watch after 30 s without data (a private field, hence the cast): too
    // soon for a long server timeout on a quiet collection.
    (options.watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs =
      options.inactivityMs ?? (options.timeoutSeconds * 1.2 + 20) * 1000;
  }

  /** Lists, then watches; resolves once watching, or retrying after a failure. */
  async start(): Promise<void> {
    if (this.state === 'running') throw new Error(`${this.o.name} watch was already started`);
    if (this.state === 'stopped') return;
    this.state = 'running';
    try {
      await this.relist();
      await this.watch();
    } catch (err) {
      this.failed(err);
    }
  }

  /** Ends the watch: no event, resync or retry after this resolves (a `list` under way still completes). */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.restartTimer);
    this.abandon();
  }

  private async relist(): Promise<void> {
    this.resourceVersion = await this.o.list();
  }

  private async watch(): Promise<void> {
    if (this.state !== 'running') return;
    this.abandon();
    const token = {};
    this.current = token;
    const request = await this.o.watcher.watch(
      this.o.path,
      {
        ...this.o.query,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.round(this.o.timeoutSeconds * (1 + Math.random() * 0.2)),
      },
      (type: string, object: unknown) => {
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

  private event(type: string, object: unknown): void {
    if (type === 'ERROR') {
      // A Status in the stream; 410 means the resourceVersion is too old to resume from.
      this.failed(new WatchStatusError(object as k8s.V1Status));
      return;
    }
    const version = (object as WatchedObject).metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
    this.restartDelayMs = this.minRestartMs;
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
    try {
      this.o.onEvent(type, object as T);
    } catch (err) {
      // client-node would swallow it without a trace.
      this.o.logger.error(
        { watch: this.o.name, error: describe(this.o.name, err) },
        'watch event handler failed',
      );
    }
  }

  private ended(token: object, err: unknown): void {
    if (this.state !== 'running' || token !== this.current) return;
    this.abandon();
    if (err && !isTimeout(err)) {
      this.failed(err);
      return;
    }
    if (err) this.o.logger.info({ watch: this.o.name }, `${this.o.name} watch went silent; resuming`);
    else this.o.logger.debug({ watch: this.o.name }, `${this.o.name} watch ended by the server; resuming`);
    this.watch().catch((e: unknown) => this.failed(e));
  }

  private failed(err: unknown): void {
    if (this.state !== 'running') return;
    this.abandon();
    const gone = isGone(err);
    const delay = gone ? 0 : this.restartDelayMs;
    if (!gone) {
      this.restartDelayMs = Math.min(this.maxRestartMs, delay * 2);
      this.o.onError?.(err);
    }
    this.o.logger[gone ? 'info' : 'warn'](
      { watch: this.o.name, error: describe(this.o.name, err), retryInMs: delay },
      gone ? `${this.o.name} watch too old to resume; relisting` : `${this.o.name} watch failed; restarting`,
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(gone), delay);
    this.restartTimer.unref();
  }

  private async restart(relist: boolean): Promise<void> {
    if (this.state !== 'running') return;
    try {
      if (relist || this.resourceVersion === undefined) {
        await this.relist();
        if (this.state !== 'running') return;
        // What changed between the old and the new resourceVersion is unknown.
        this.o.onResync?.();
      }
      await this.watch();
    } catch (err) {
      this.failed(err);
    }
  }
}

/** An ERROR event: the Status the server put in the watch stream. */
class WatchStatusError extends Error {
  readonly statusCode: number | undefined;

  constructor(status: k8s.V1Status) {
    super([status.reason, status.message].filter(Boolean).join(': ') || 'error event in the watch');
    this.statusCode = status.code;
  }
}

/** 410 Gone, in the stream or as the watch request's status. */
function isGone(err: unknown): boolean {
  return (err as { statusCode?: unknown } | null)?.statusCode === 410;
}

/** client-node's inactivity (or connect) timeout. */
function isTimeout(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'TimeoutError';
}

/**
 * The server's message is kept: for a list or watch it is about the request
 * (a missing right, a too old resourceVersion), never an object's contents.
 */
function describe(what: string, err: unknown): string {
  const api = describeKubeApiError(what, err, true);
  if (api) return api;
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  const message = err instanceof Error ? err.message : String(err);
  return typeof status === 'number'
    ? `${what}: Kubernetes API answered ${status} (${message})`
    : `${what}: ${message}`;
}
