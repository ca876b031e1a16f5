import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '@rudder/common';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface InformerOptions<T extends k8s.KubernetesObject> {
  /** Names the informer in logs and metrics, e.g. `apps/v1 Deployment`. */
  name: string;
  /** The watch path, e.g. `/apis/apps/v1/deployments`. */
  path: string;
  list: () => Promise<k8s.KubernetesListObject<T>>;
  labelSelector?: string;
  onEvent: (event: InformerEvent, object: T) => void;
  /** Called for every watch or list failure, before the informer restarts. */
  onError?: (name: string) => void;
  logger: Logger;
  minRestartMs?: number;
  maxRestartMs?: number;
}

/**
 * A list-then-watch cache of one resource (client-node's ListWatch) that does
 * not stay down: ListWatch itself relists on 410 Gone and rewatches after a
 * timeout, but stops on any other error (API server restarts, dropped
 * connections, a failed list); this restarts it with exponential backoff.
 */
export class Informer<T extends k8s.KubernetesObject> {
  private readonly watch: k8s.ListWatch<T>;
  private readonly options: InformerOptions<T>;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs: number;

  constructor(lib: typeof k8s, kc: k8s.KubeConfig, options: InformerOptions<T>) {
    this.options = options;
    this.restartDelayMs = options.minRestartMs ?? 500;
    this.watch = new lib.ListWatch<T>(
      options.path,
      new lib.Watch(kc),
      options.list,
      false,
      options.labelSelector,
    );
    for (const event of ['add', 'update', 'delete'] as const)
      this.watch.on(event, (object) => {
        this.restartDelayMs = this.options.minRestartMs ?? 500;
        options.onEvent(event, object);
      });
    this.watch.on('error', (err) => this.restart(err));
  }

  /** Lists and starts watching; resolves once the first list is in the cache (or failed and will be retried). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.watch.start();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.watch.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.watch.list(namespace);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.watch.stop();
  }

  private restart(err: unknown): void {
    if (this.stopped) return;
    this.options.onError?.(this.options.name);
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.options.maxRestartMs ?? 30_000, delay * 2);
    this.options.logger.warn(
      { informer: this.options.name, error: describe(err), retryInMs: delay },
      'watch failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.watch.start().catch((e: unknown) => this.restart(e));
    }, delay);
    this.restartTimer.unref();
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null) return JSON.stringify(err).slice(0, 300);
  return String(err);
}
