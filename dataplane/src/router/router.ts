import type { DestinationConfig, Logger } from '@rudder/common';
import type { Fence, JobsDb } from '../jobsdb/index.ts';
import type { ConfigStore } from '../config/config-store.ts';
import { DestinationWorker, type RouterMetrics, type RouterSettings } from './destination-worker.ts';
import type { RoundTracker } from '../ownership/in-flight-rounds.ts';
import { HttpClient } from './http-client.ts';
import { RateLimiter } from './rate-limiter.ts';

export interface RouterOptions {
  db: JobsDb;
  config: ConfigStore;
  partitions: () => number[];
  settings: RouterSettings;
  logger: Logger;
  metrics: RouterMetrics;
  fence?: Fence;
  rounds?: RoundTracker;
}

/**
 * Keeps one delivery worker per enabled destination of the running config:
 * starts workers for new destinations, updates changed ones, and stops those
 * removed or disabled (their jobs stay queued until the destination is back).
 */
export class Router {
  private readonly o: RouterOptions;
  private readonly workers = new Map<string, DestinationWorker>();
  private readonly http = new HttpClient();
  private readonly limiter = new RateLimiter();
  private readonly onChange = (): void => void this.sync();
  private syncing: Promise<void> = Promise.resolve();
  private started = false;

  constructor(options: RouterOptions) {
    this.o = options;
  }

  start(): void {
    this.started = true;
    this.o.config.on('change', this.onChange);
    void this.sync();
  }

  /** Delivery jobs exist for these destinations: look now. */
  wake(destinationIds: Iterable<string>): void {
    for (const id of destinationIds) this.workers.get(id)?.wake();
  }

  /** Every destination may have work (this worker just took over partitions): look now. */
  wakeAll(): void {
    for (const worker of this.workers.values()) worker.wake();
  }

  private sync(): Promise<void> {
    this.syncing = this.syncing
      .then(() => this.syncNow())
      .catch((err: unknown) => {
        this.o.logger.error({ err }, 'router could not apply the config');
      });
    return this.syncing;
  }

  private async syncNow(): Promise<void> {
    if (!this.started) return;
    const wanted = new Map<string, DestinationConfig>();
    for (const [id, d] of this.o.config.destinations()) if (d.enabled) wanted.set(id, d);
    const stops: Promise<void>[] = [];
    for (const [id, worker] of this.workers) {
      if (!wanted.has(id)) {
        this.workers.delete(id);
        stops.push(worker.stop());
      }
    }
    await Promise.all(stops);
    for (const [id, destination] of wanted) {
      const existing = this.workers.get(id);
      try {
        if (existing) {
          existing.update(destination);
          continue;
        }
        const worker = new DestinationWorker({
          db: this.o.db,
          destination,
          partitions: this.o.partitions,
          http: this.http,
          limiter: this.limiter,
          settings: this.o.settings,
          logger: this.o.logger.child({ destination: id }),
          metrics: this.o.metrics,
          ...(this.o.fence ? { fence: this.o.fence } : {}),
          ...(this.o.rounds ? { rounds: this.o.rounds } : {}),
        });
        this.workers.set(id, worker);
        worker.start();
      } catch (err) {
        this.o.logger.error(
          { destination: id, error: String(err) },
          'destination config is invalid; not delivering to it',
        );
      }
    }
  }

  /** Stops every worker after its round in flight, then closes connections. */
  async stop(): Promise<void> {
    this.started = false;
    this.o.config.off('change', this.onChange);
    await this.syncing;
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.workers.clear();
    await this.http.close();
  }
}
