import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { parseEnv, DEFAULT_PARTITIONS, isPowerOfTwo } from '@rudder/common';

const int = (def: number) => z.coerce.number().int().min(0).default(def);

const envSchema = z
  .object({
    RUDDER_ROLE: z.enum(['all', 'gateway', 'worker']).default('all'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    DATABASE_URL: z.string().min(1, 'DATABASE_URL is required (postgres://...)'),
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .default('rudder'),
    DATABASE_POOL_SIZE: int(20),

    HOST: z.string().default('127.0.0.1'),
    PORT: int(8080),
    ADMIN_HOST: z.string().default('127.0.0.1'),
    ADMIN_PORT: int(8081),
    /** Bearer token the admin API requires; when unset the admin API only listens on ADMIN_HOST. */
    ADMIN_TOKEN: z.string().optional(),

    /** Workspace config as JSON, the shape the control plane serves; reloaded on change. */
    CONFIG_FILE: z.string().min(1).optional(),
    /** Base URL of the control plane the config (and replays) come from; exclusive with CONFIG_FILE. */
    CONTROL_PLANE_URL: z
      .url({ protocol: /^https?$/, error: 'CONTROL_PLANE_URL must be an http(s) URL' })
      .optional(),
    /** The data-plane token, or a file holding it (a mounted secret, read once at start). */
    CONTROL_PLANE_TOKEN: z.string().min(1).optional(),
    CONTROL_PLANE_TOKEN_FILE: z.string().min(1).optional(),
    /** How long the control plane may hold a config long-poll before answering 304. */
    CONFIG_WAIT_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
    /** Hours ingested events stay replayable after processing (0 = no archive: finished datasets are dropped). */
    ARCHIVE_RETENTION_HOURS: int(168),
    REPLAY_POLL_SECONDS: z.coerce.number().int().min(1).default(5),
    /** Ingested events per replay chunk (one transaction each). */
    REPLAY_CHUNK_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
    PARTITIONS: z.coerce
      .number()
      .int()
      .refine(isPowerOfTwo, 'PARTITIONS must be a power of two')
      .default(DEFAULT_PARTITIONS),

    MAX_REQUEST_BYTES: int(4 * 1024 * 1024),
    MAX_EVENT_BYTES: int(32 * 1024),
    MAX_BATCH_EVENTS: int(2000),
    MAX_JSON_DEPTH: int(64),

    GATEWAY_BATCH_MAX_EVENTS: int(2000),
    GATEWAY_BATCH_MAX_BYTES: int(8 * 1024 * 1024),

    JOBSDB_DATASET_MAX_ROWS: int(200_000),
    JOBSDB_DATASET_MAX_AGE_SECONDS: int(600),
    JOBSDB_MAINTENANCE_INTERVAL_MS: int(2000),

    PROCESSOR_BATCH_SIZE: int(2000),
    PROCESSOR_POLL_MS: int(20),
    ROUTER_JOBS_PER_PARTITION: int(200),
    ROUTER_POLL_MS: int(20),
    ROUTER_RETRY_WINDOW_SECONDS: int(3 * 3600),
    ROUTER_MIN_ATTEMPTS: int(3),
    ROUTER_BACKOFF_BASE_MS: int(1000),
    ROUTER_BACKOFF_MAX_MS: int(300_000),

    SHUTDOWN_TIMEOUT_MS: int(25_000),

    /** This worker's id (a ConfigMap key and file name part); default POD_NAME, else the host name. */
    WORKER_ID: z.string().optional(),
    POD_NAME: z.string().optional(),
    HOSTNAME: z.string().optional(),
    /** The worker's ordinal in the partition map; default: the trailing `-N` of the worker id. */
    WORKER_ORDINAL: z.coerce.number().int().min(0).optional(),
    /** Where the partition map comes from (docs/adr/0007). */
    PARTITION_MAP_SOURCE: z.enum(['static', 'file', 'kubernetes']).default('static'),
    /** With `file`: the directory holding `map.json`; this worker writes `status-<WORKER_ID>.json` there. */
    PARTITION_MAP_DIR: z.string().min(1).optional(),
    /** With `kubernetes`: the tenant namespace holding the `partition-map` ConfigMap. */
    POD_NAMESPACE: z.string().min(1).optional(),
    PARTITION_LEASE_SECONDS: z.coerce.number().min(0.5).max(3600).default(10),
    PARTITION_ACQUIRE_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(200),
    /** How often a worker rewrites its report when nothing changed (a change is reported at once). */
    PARTITION_REPORT_INTERVAL_MS: z.coerce.number().int().min(100).max(300_000).default(5_000),
  })
  .superRefine((e, ctx) => {
    const issue = (message: string): void => ctx.addIssue({ code: 'custom', message });
    if (e.CONFIG_FILE !== undefined && e.CONTROL_PLANE_URL !== undefined)
      issue('set CONFIG_FILE or CONTROL_PLANE_URL, not both');
    const tokens =
      Number(e.CONTROL_PLANE_TOKEN !== undefined) + Number(e.CONTROL_PLANE_TOKEN_FILE !== undefined);
    if (e.CONTROL_PLANE_URL !== undefined && tokens !== 1)
      issue('CONTROL_PLANE_URL needs exactly one of CONTROL_PLANE_TOKEN and CONTROL_PLANE_TOKEN_FILE');
    if (e.CONTROL_PLANE_URL === undefined && tokens > 0)
      issue('CONTROL_PLANE_TOKEN(_FILE) is set but CONTROL_PLANE_URL is not');
    // Gateways take no partition leases: the ownership settings only matter to workers.
    if (e.RUDDER_ROLE === 'gateway') return;
    const at = (path: string, message: string): void =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    const id = workerIdOf(e);
    if (!WORKER_ID.test(id))
      at(
        'WORKER_ID',
        `${JSON.stringify(id)} is not a valid worker id (up to 100 letters, digits, '-', '.' or '_')` +
          (e.WORKER_ID === undefined ? '; set WORKER_ID' : ''),
      );
    else if (
      e.PARTITION_MAP_SOURCE !== 'static' &&
      e.WORKER_ORDINAL === undefined &&
      ordinalOf(id) === undefined
    )
      at('WORKER_ORDINAL', `required: the worker id ${JSON.stringify(id)} does not end in -<ordinal>`);
    if (e.PARTITION_MAP_SOURCE === 'file' && e.PARTITION_MAP_DIR === undefined)
      at('PARTITION_MAP_DIR', 'required with PARTITION_MAP_SOURCE=file');
    if (e.PARTITION_MAP_SOURCE === 'kubernetes' && e.POD_NAMESPACE === undefined)
      at('POD_NAMESPACE', 'required with PARTITION_MAP_SOURCE=kubernetes (the tenant namespace)');
  });

/** Worker ids are ConfigMap keys, file name parts and part of a field manager name (at most 128 characters). */
const WORKER_ID = /^[A-Za-z0-9](?:[-._A-Za-z0-9]{0,98}[A-Za-z0-9])?$/;

function workerIdOf(e: {
  WORKER_ID?: string | undefined;
  POD_NAME?: string | undefined;
  HOSTNAME?: string | undefined;
}): string {
  return e.WORKER_ID ?? e.POD_NAME ?? e.HOSTNAME ?? hostname();
}

/** The ordinal in a StatefulSet pod name (`worker-2` -> 2). */
function ordinalOf(id: string): number | undefined {
  const match = /-(\d+)$/.exec(id);
  return match ? Number(match[1]) : undefined;
}

export type Env = z.infer<typeof envSchema>;

/** The data plane's whole configuration, read from the environment once. */
export interface DataPlaneConfig {
  role: 'all' | 'gateway' | 'worker';
  logLevel: Env['LOG_LEVEL'];
  database: { url: string; schema: string; poolSize: number };
  http: { host: string; port: number };
  admin: { host: string; port: number; token: string | undefined };
  /** Where the workspace config comes from; neither set = the config cached in the database only. */
  configFile: string | undefined;
  controlPlane: ControlPlaneSettings | undefined;
  replay: { pollSeconds: number; chunkSize: number };
  partitions: number;
  limits: { maxRequestBytes: number; maxEventBytes: number; maxBatchEvents: number; maxJsonDepth: number };
  gatewayBatch: { maxEvents: number; maxBytes: number };
  jobsdb: {
    datasetMaxRows: number;
    datasetMaxAgeSeconds: number;
    maintenanceIntervalMs: number;
    archiveRetentionHours: number;
  };
  processor: { batchSize: number; pollMs: number };
  router: {
    jobsPerPartition: number;
    pollMs: number;
    retryWindowSeconds: number;
    minAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
  };
  shutdownTimeoutMs: number;
  /** Partition ownership of a worker (`worker` and `all` roles); undefined for a gateway. */
  ownership: OwnershipSettings | undefined;
}

/** How a worker learns its partitions and holds them (docs/adr/0007). */
export interface OwnershipSettings {
  workerId: string;
  ordinal: number;
  source: { kind: 'static' } | { kind: 'file'; dir: string } | { kind: 'kubernetes'; namespace: string };
  leaseMs: number;
  acquirePollMs: number;
  reportIntervalMs: number;
}

/** The control plane this data plane pulls its config and replays from. */
export interface ControlPlaneSettings {
  /** Base URL without a trailing slash. */
  url: string;
  token: string;
  waitSeconds: number;
}

/**
 * Reads the data plane's configuration from `env` (the only place that does);
 * a `CONTROL_PLANE_TOKEN_FILE` is read here, once.
 */
export function loadConfig(env: Record<string, string | undefined>): DataPlaneConfig {
  const e = parseEnv(envSchema, env);
  return {
    role: e.RUDDER_ROLE,
    logLevel: e.LOG_LEVEL,
    database: { url: e.DATABASE_URL, schema: e.DATABASE_SCHEMA, poolSize: e.DATABASE_POOL_SIZE },
    http: { host: e.HOST, port: e.PORT },
    admin: { host: e.ADMIN_HOST, port: e.ADMIN_PORT, token: e.ADMIN_TOKEN },
    configFile: e.CONFIG_FILE,
    controlPlane:
      e.CONTROL_PLANE_URL === undefined
        ? undefined
        : {
            url: e.CONTROL_PLANE_URL.replace(/\/+$/, ''),
            token: e.CONTROL_PLANE_TOKEN ?? readTokenFile(e.CONTROL_PLANE_TOKEN_FILE ?? ''),
            waitSeconds: e.CONFIG_WAIT_SECONDS,
          },
    replay: { pollSeconds: e.REPLAY_POLL_SECONDS, chunkSize: e.REPLAY_CHUNK_SIZE },
    partitions: e.PARTITIONS,
    limits: {
      maxRequestBytes: e.MAX_REQUEST_BYTES,
      maxEventBytes: e.MAX_EVENT_BYTES,
      maxBatchEvents: e.MAX_BATCH_EVENTS,
      maxJsonDepth: e.MAX_JSON_DEPTH,
    },
    gatewayBatch: { maxEvents: e.GATEWAY_BATCH_MAX_EVENTS, maxBytes: e.GATEWAY_BATCH_MAX_BYTES },
    jobsdb: {
      datasetMaxRows: e.JOBSDB_DATASET_MAX_ROWS,
      datasetMaxAgeSeconds: e.JOBSDB_DATASET_MAX_AGE_SECONDS,
      maintenanceIntervalMs: e.JOBSDB_MAINTENANCE_INTERVAL_MS,
      archiveRetentionHours: e.ARCHIVE_RETENTION_HOURS,
    },
    processor: { batchSize: e.PROCESSOR_BATCH_SIZE, pollMs: e.PROCESSOR_POLL_MS },
    router: {
      jobsPerPartition: e.ROUTER_JOBS_PER_PARTITION,
      pollMs: e.ROUTER_POLL_MS,
      retryWindowSeconds: e.ROUTER_RETRY_WINDOW_SECONDS,
      minAttempts: e.ROUTER_MIN_ATTEMPTS,
      backoffBaseMs: e.ROUTER_BACKOFF_BASE_MS,
      backoffMaxMs: e.ROUTER_BACKOFF_MAX_MS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    ownership: e.RUDDER_ROLE === 'gateway' ? undefined : ownershipOf(e),
  };
}

function ownershipOf(e: Env): OwnershipSettings {
  const workerId = workerIdOf(e);
  return {
    workerId,
    ordinal: e.WORKER_ORDINAL ?? ordinalOf(workerId) ?? 0,
    source:
      e.PARTITION_MAP_SOURCE === 'file'
        ? { kind: 'file', dir: e.PARTITION_MAP_DIR ?? '' }
        : e.PARTITION_MAP_SOURCE === 'kubernetes'
          ? { kind: 'kubernetes', namespace: e.POD_NAMESPACE ?? '' }
          : { kind: 'static' },
    leaseMs: Math.round(e.PARTITION_LEASE_SECONDS * 1000),
    acquirePollMs: e.PARTITION_ACQUIRE_POLL_MS,
    reportIntervalMs: e.PARTITION_REPORT_INTERVAL_MS,
  };
}

function readTokenFile(path: string): string {
  let token: string;
  try {
    // Secret volumes often end the value with a newline that is not part of the token.
    token = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new Error(
      `invalid configuration:\n  CONTROL_PLANE_TOKEN_FILE: cannot read ${path} (${codeOf(err)})`,
      { cause: err },
    );
  }
  if (token === '') throw new Error(`invalid configuration:\n  CONTROL_PLANE_TOKEN_FILE: ${path} is empty`);
  return token;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'unreadable';
}
