import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '@rudder/common';
import type { ControlPlaneConfig } from '../config.ts';
import type { Db } from '../db/db.ts';
import type { AccessTokens } from '../auth/tokens.ts';
import type { LoginLimiter } from '../auth/login-limiter.ts';
import type { Queues } from '../jobs/queues.ts';
import type { ConfigEvents } from '../dataplane-api/config-events.ts';
import type { TenantConfigCache } from '../dataplane-api/config-cache.ts';
import type { Kube } from '../jobs/kube.ts';

/** Everything a route handler may use; built once in app.ts. */
export interface AppDeps {
  config: ControlPlaneConfig;
  db: Db;
  logger: Logger;
  /** Shared connection for rate limits; BullMQ keeps its own. */
  redis: Redis;
  accessTokens: AccessTokens;
  loginLimiter: LoginLimiter;
  queues: Queues;
  configEvents: ConfigEvents;
  /** Built data-plane configs by tenant and version. */
  configCache: TenantConfigCache;
  /** The Kubernetes API when KUBERNETES=kubeconfig; undefined otherwise. */
  kube: Kube | undefined;
  metrics: Registry;
}
