/** Partition ownership in the data plane: leases, the fence, the map sources and the manager (docs/adr/0007). */
export { FencedError, isFenced } from './errors.ts';
export { InFlightRounds, type Round, type RoundTracker } from './in-flight-rounds.ts';
export {
  LeaseStore,
  listLeases,
  lockPartitionsForInsert,
  type LeaseStoreOptions,
  type PartitionLease,
} from './lease-store.ts';
export {
  desiredPartitions,
  NoReportSink,
  StaticMapSource,
  type PartitionMapSource,
  type ReportSink,
} from './map-source.ts';
export { FileMapSource, FileReportSink, MAP_FILE, statusFileName } from './file-source.ts';
export {
  kubernetesOwnership,
  KubernetesMapSource,
  KubernetesReportSink,
  PARTITION_MAP_CONFIGMAP,
  PARTITION_MAP_KEY,
  PARTITION_STATUS_CONFIGMAP,
} from './kubernetes-source.ts';
export {
  OwnershipManager,
  type OwnershipManagerOptions,
  type OwnershipMetrics,
} from './ownership-manager.ts';
