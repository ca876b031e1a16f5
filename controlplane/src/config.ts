import { z } from 'zod';
import { parseEnv } from '@rudder/common';

const int = (def: number) => z.coerce.number().int().min(0).default(def);

const envSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(8070),
  /** Public base URL of this API, used in links it hands out (onboarding's RudderInstance). */
  PUBLIC_URL: z.string().url().optional(),

  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required (postgres://...)'),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('controlplane'),
  DATABASE_POOL_SIZE: int(20),
  /** Run pending migrations on start (the `migrate` command runs them alone). */
  MIGRATE_ON_START: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),

  REDIS_URL: z.string().min(1, 'REDIS_URL is required (redis://...)'),
  /** Key prefix of every BullMQ queue and rate-limit key, so several control planes can share a Redis. */
  REDIS_PREFIX: z.string().default('rudder'),

  /** HMAC key of access tokens (HS256); at least 32 bytes. */
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters'),
  ACCESS_TOKEN_TTL_SECONDS: int(15 * 60),
  REFRESH_TOKEN_TTL_SECONDS: int(30 * 24 * 3600),

  /** Failed logins allowed per email (and per client address) before refusals, per window. */
  LOGIN_MAX_FAILURES: int(5),
  LOGIN_WINDOW_SECONDS: int(15 * 60),

  MAX_BODY_BYTES: int(2 * 1024 * 1024),
  /** Largest transformation source accepted, in bytes. */
  MAX_TRANSFORMATION_BYTES: int(256 * 1024),
  /** Longest a data plane's config long-poll is held open. */
  CONFIG_MAX_WAIT_SECONDS: int(60),

  /** Kubernetes: `none` records instances as pending; `kubeconfig` uses KUBECONFIG or in-cluster config. */
  KUBERNETES: z.enum(['none', 'kubeconfig']).default('none'),
  /** Image of the data plane written into new RudderInstances. */
  DATAPLANE_IMAGE: z.string().default('ghcr.io/rudder-dev/dataplane:latest'),
  /** Namespace where onboarding puts the data-plane token Secret the RudderInstance refers to. */
  SYSTEM_NAMESPACE: z.string().default('rudder-system'),

  /** Stalled-job detection: a job whose worker stops renewing its lock for this long runs again. */
  JOBS_LOCK_MS: int(30_000),
  JOBS_CONCURRENCY: int(4),
  /** Longest a replay may run before its job fails. */
  REPLAY_TIMEOUT_SECONDS: int(6 * 3600),

  SHUTDOWN_TIMEOUT_MS: int(20_000),
});

export type Env = z.infer<typeof envSchema>;

/** The control plane's whole configuration, read from the environment once. */
export interface ControlPlaneConfig {
  logLevel: Env['LOG_LEVEL'];
  http: { host: string; port: number; publicUrl: string | undefined; maxBodyBytes: number };
  database: { url: string; schema: string; poolSize: number; migrateOnStart: boolean };
  redis: { url: string; prefix: string };
  auth: {
    jwtSecret: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    loginMaxFailures: number;
    loginWindowSeconds: number;
  };
  limits: { maxTransformationBytes: number; configMaxWaitSeconds: number };
  kubernetes: { mode: 'none' | 'kubeconfig'; dataplaneImage: string; systemNamespace: string };
  jobs: { lockMs: number; concurrency: number; replayTimeoutSeconds: number };
  shutdownTimeoutMs: number;
}

export function loadConfig(env: Record<string, string | undefined>): ControlPlaneConfig {
  const e = parseEnv(envSchema, env);
  return {
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT, publicUrl: e.PUBLIC_URL, maxBodyBytes: e.MAX_BODY_BYTES },
    database: {
      url: e.DATABASE_URL,
      schema: e.DATABASE_SCHEMA,
      poolSize: e.DATABASE_POOL_SIZE,
      migrateOnStart: e.MIGRATE_ON_START,
    },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX },
    auth: {
      jwtSecret: e.JWT_SECRET,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      loginMaxFailures: e.LOGIN_MAX_FAILURES,
      loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
    },
    limits: {
      maxTransformationBytes: e.MAX_TRANSFORMATION_BYTES,
      configMaxWaitSeconds: e.CONFIG_MAX_WAIT_SECONDS,
    },
    kubernetes: {
      mode: e.KUBERNETES,
      dataplaneImage: e.DATAPLANE_IMAGE,
      systemNamespace: e.SYSTEM_NAMESPACE,
    },
    jobs: {
      lockMs: e.JOBS_LOCK_MS,
      concurrency: e.JOBS_CONCURRENCY,
      replayTimeoutSeconds: e.REPLAY_TIMEOUT_SECONDS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}
