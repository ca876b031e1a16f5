/**
 * What processor and router rounds tell the ownership manager: the
 * partitions a round works on, from before it reads until after it has
 * committed or rolled back.
 */
export interface RoundTracker {
  /** A round over `partitions` starts. */
  enter(partitions: readonly number[]): Round;
}

/** One round in flight. */
export interface Round {
  /** The round has committed or failed; call once. */
  leave(): void;
  /**
   * False once this worker can no longer be sure it holds every partition
   * of the round (a lease past due, taken over, or refused by the fence):
   * its commit will be refused, so it should send nothing more. A partition
   * merely moved by the map stays valid until released, so the round can
   * finish.
   */
  valid(): boolean;
}

/**
 * Counts the rounds in flight per partition. A partition given up is
 * released only once no round that included it is still running (in-flight
 * deliveries included), and taken again only then: a round that started
 * under an earlier lease must never commit under a later one.
 */
export class InFlightRounds {
  private readonly counts = new Map<number, number>();
  private readonly onIdle: (partitions: number[]) => void;

  /** `onIdle` is told which partitions the last round just left. */
  constructor(onIdle: (partitions: number[]) => void = () => {}) {
    this.onIdle = onIdle;
  }

  /** Counts a round over `partitions`; the function returned ends it (once). */
  enter(partitions: readonly number[]): () => void {
    const mine = [...new Set(partitions)];
    for (const p of mine) this.counts.set(p, (this.counts.get(p) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const idle: number[] = [];
      for (const p of mine) {
        const n = (this.counts.get(p) ?? 1) - 1;
        if (n > 0) this.counts.set(p, n);
        else {
          this.counts.delete(p);
          idle.push(p);
        }
      }
      if (idle.length > 0) this.onIdle(idle);
    };
  }

  /** True while some round that included `partition` is running. */
  busy(partition: number): boolean {
    return this.counts.has(partition);
  }
}
