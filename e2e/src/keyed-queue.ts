/**
 * Runs `work(key)` for scheduled keys, one run per key at a time: a key
 * scheduled while its run is in flight runs once more afterwards (however
 * often it was scheduled meanwhile), the way a controller's work queue
 * coalesces events. Different keys run concurrently.
 */
export class KeyedQueue {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private closed = false;
  private readonly work: (key: string) => Promise<void>;
  private readonly onError: (key: string, err: unknown) => void;

  constructor(work: (key: string) => Promise<void>, onError: (key: string, err: unknown) => void) {
    this.work = work;
    this.onError = onError;
  }

  schedule(key: string): void {
    if (this.closed) return;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const run = this.work(key)
      .catch((err: unknown) => this.onError(key, err))
      .finally(() => {
        this.running.delete(key);
        if (this.again.delete(key)) this.schedule(key);
      });
    this.running.set(key, run);
  }

  /** Accepts no more work and waits for the runs in flight. */
  async close(): Promise<void> {
    this.closed = true;
    this.again.clear();
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }
}
