import type { PartitionMap, WorkerReport } from '@rudder/common/partition-map';

/** Where a worker learns the partition map: the operator's ConfigMap, a file, or nothing (static). */
export interface PartitionMapSource {
  /**
   * Starts delivering maps to `onMap`: the current one as soon as it is
   * known, then every change. Resolves once the first look is done (a map
   * may not exist yet); keeps retrying in the background after errors.
   */
  start(onMap: (map: PartitionMap) => void): Promise<void>;
  stop(): Promise<void>;
}

/** Where a worker publishes its {@link WorkerReport} for the operator (or a test harness). */
export interface ReportSink {
  /** Replaces this worker's report; rejects when it could not be written. */
  write(report: WorkerReport): Promise<void>;
}

/** The partitions `map` assigns to the worker with `ordinal`, in order. */
export function desiredPartitions(map: PartitionMap, ordinal: number): number[] {
  const out: number[] = [];
  map.owners.forEach((owner, p) => {
    if (owner === ordinal) out.push(p);
  });
  return out;
}

/**
 * The map of a worker that owns every partition (`PARTITION_MAP_SOURCE=static`,
 * one worker per tenant): all partitions go to `ordinal`. It still takes
 * leases, so a second worker started by mistake waits instead of
 * committing beside it.
 */
export class StaticMapSource implements PartitionMapSource {
  private readonly map: PartitionMap;

  /**
   * `epoch` must not be below any epoch already in `partition_leases`
   * (a database that ran with a published map before): leases are never
   * taken at an older epoch than they were last held at.
   */
  constructor(options: { partitions: number; ordinal: number; epoch: number }) {
    this.map = {
      epoch: options.epoch,
      partitions: options.partitions,
      // The map's shape requires owners below `replicas`; nothing reads replicas from a static map.
      replicas: options.ordinal + 1,
      owners: new Array<number>(options.partitions).fill(options.ordinal),
    };
  }

  async start(onMap: (map: PartitionMap) => void): Promise<void> {
    onMap(this.map);
  }

  async stop(): Promise<void> {}
}

/** A sink that keeps nothing (static mode: nobody sequences handoffs). */
export class NoReportSink implements ReportSink {
  async write(): Promise<void> {}
}
