import type { RudderEvent } from '@rudder/common';

/** An accepted event on its way into the gateway dataset. */
export interface NewGatewayJob {
  partitionId: number;
  workspaceId: string;
  sourceId: string;
  userKey: string;
  messageId: string;
  receivedAt: Date;
  event: RudderEvent;
}

/** All events of one HTTP request: stored whole or not at all. */
export interface GatewayWrite {
  jobs: NewGatewayJob[];
  /** When > 0, drop events whose (sourceId, messageId) was stored within this many seconds. */
  dedupWindowSeconds: number;
  /** Size of the request's (decompressed) body: bounds how much one group commit carries. */
  bytes: number;
}

export interface GatewayJob extends NewGatewayJob {
  jobId: number;
}

/** A delivery job the processor hands to the router. */
export interface NewRouterJob {
  partitionId: number;
  workspaceId: string;
  sourceId: string;
  destinationId: string;
  userKey: string;
  messageId: string;
  gwJobId: number;
  /** The destination's per-event item (output of its transform). */
  payload: unknown;
}

export type RouterJobState = 'waiting' | 'succeeded' | 'aborted';

export interface RouterJob extends NewRouterJob {
  /** The dataset holding the job (its status row lives beside it). */
  dataset: number;
  jobId: number;
  createdAt: Date;
  /** Retry state; null for a job never attempted (or attempted but not recorded before a crash). */
  status: {
    state: RouterJobState;
    attempts: number;
    firstAttemptAt: Date;
    nextAttemptAt: Date;
  } | null;
}

/** What happened to one router job in a delivery round. */
export type RouterOutcome =
  | { jobId: number; partitionId: number; state: 'succeeded'; statusCode: number }
  | {
      jobId: number;
      partitionId: number;
      state: 'waiting';
      statusCode: number;
      response: string;
      attempts: number;
      firstAttemptAt: Date;
      nextAttemptAt: Date;
    }
  | {
      jobId: number;
      partitionId: number;
      state: 'aborted';
      statusCode: number;
      response: string;
      attempts: number;
      firstAttemptAt: Date;
      reason: string;
    };

export interface NewFailedEvent {
  stage: 'processor' | 'router';
  workspaceId: string;
  sourceId: string;
  destinationId: string | null;
  partitionId: number;
  userKey: string;
  messageId: string;
  jobId: number;
  payload: unknown;
  attempts: number;
  lastStatusCode: number | null;
  lastResponse: string | null;
  reason: string;
}

/** An event that could not be processed or delivered, kept for inspection and re-drive. */
export interface FailedEvent extends NewFailedEvent {
  id: number;
  failedAt: Date;
  redrivenAt: Date | null;
}
