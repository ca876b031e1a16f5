/**
 * A rate-limited work queue of object keys, in the manner of client-go's:
 * - a key added many times while it waits is processed once (dedup);
 * - a key is never processed by two workers at once: added while in flight,
 *   it is marked dirty and queued again when the running reconcile finishes;
 * - failures are retried with per-key exponential backoff (base * 2^n, capped),
 *   reset by `forget` after a success.
 */
export interface WorkQueueOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Called whenever the number of waiting keys changes (for the queue-depth gauge). */
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly waiting = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly takers: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  private readonly options: WorkQueueOptions;

  constructor(options: WorkQueueOptions) {
    this.options = options;
  }

  /** Queues `key` now (unless it already waits or is being processed). */
  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    const taker = this.takers.shift();
    if (taker) {
      this.processing.add(key);
      taker(key);
      return;
    }
    this.waiting.add(key);
    this.queue.push(key);
    this.options.onDepth?.(this.queue.length);
  }

  /** Queues `key` after `ms` (a later `add` does not cancel the timer; dedup handles the rest). */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Queues `key` after its next backoff delay; returns that delay. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** n);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears `key`'s failure count after it was handled successfully. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures of `key` since it last succeeded. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process; resolves to undefined when the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.waiting.delete(key);
      this.processing.add(key);
      this.options.onDepth?.(this.queue.length);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** Marks `key` processed; queues it again if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Stops handing out keys: waiting `get`s resolve to undefined, timers are cleared. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const taker of this.takers.splice(0)) taker(undefined);
  }
}
