/**
 * A commit refused by the partition fence: this worker does not hold a
 * valid lease on every partition the commit touches (it expired, or another
 * worker took it over). The transaction was rolled back, so nothing of the
 * round was committed; the new owner redoes that work from the database.
 */
export class FencedError extends Error {
  readonly code = 'fenced';
  /** The partitions of the commit this worker no longer holds. */
  readonly partitions: readonly number[];

  constructor(partitions: readonly number[]) {
    super(`commit refused: partition lease not held for partition(s) ${partitions.join(', ')}`);
    this.name = 'FencedError';
    this.partitions = partitions;
  }
}

/** True for a {@link FencedError}: expected during handoffs, not a failure of the worker. */
export function isFenced(err: unknown): err is FencedError {
  return err instanceof FencedError;
}
