import type { SourceConfig } from '@rudder/common';
import type { DataPlaneConfig } from '../config.ts';
import type { GatewayWrite } from '../jobsdb/types.ts';

/**
 * Where the gateway commits accepted events. The jobs database implements it;
 * the gateway depends only on this shape so either side can change alone.
 */
export interface GatewayStore {
  /**
   * Commits every job of one request in one transaction (stored whole or not
   * at all) and resolves only once committed. Throws
   * `RudderError('unavailable', ..., { retryAfterSeconds })` when Postgres is
   * unreachable; the gateway answers that with 503 and `Retry-After`.
   */
  writeGateway(write: GatewayWrite): Promise<{ stored: number; duplicates: number }>;
  /** Whether writes can succeed now; `GET /ready` reports unready while false. */
  isHealthy(): boolean | Promise<boolean>;
}

/** A source found by its write key, with the workspace that owns it. */
export interface ResolvedSource {
  source: SourceConfig;
  workspaceId: string;
}

/**
 * Write key lookup over the current workspace configuration. The config
 * loader implements it and swaps its contents on reload; lookups must be cheap
 * (a Map get), as the gateway calls `byWriteKey` once per request.
 */
export interface SourceDirectory {
  byWriteKey(writeKey: string): ResolvedSource | undefined;
  /** False until the first configuration has been loaded. */
  isReady(): boolean;
}

/** The request and event size limits the gateway enforces. */
export type GatewayLimits = DataPlaneConfig['limits'];
