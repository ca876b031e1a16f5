export { JobsDb, type JobsDbOptions, type Fence } from './jobsdb.ts';
export type { WriteResult } from './gateway-writer.ts';
export type { GatewayBatch, GatewayRow } from './gateway-queue.ts';
export { toJob } from './gateway-queue.ts';
export type { RouterWork, HeldJob } from './router-queue.ts';
export type { MaintenanceReport } from './maintenance.ts';
export { datasetSizes } from './maintenance.ts';
export { archiveSizes } from './archives.ts';
export {
  listFailedEvents,
  getFailedEvent,
  countFailedEvents,
  insertFailedEvents,
  redrive,
  type FailedEventFilter,
  type RedriveJob,
} from './failed-events.ts';
export { currentDataset } from './datasets.ts';
export { createPool, inTransaction } from '@rudder/common/pg';
export * from './types.ts';
