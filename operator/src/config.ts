import { z } from 'zod';
import { parseEnv } from '@rudder/common';

const int = (def: number) => z.coerce.number().int().min(0).default(def);
const bool = (def: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(def)
    .transform((v) => v === 'true');

const envSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Namespace the operator runs in: its leader-election Lease and the control plane live there. */
  OPERATOR_NAMESPACE: z.string().min(1).default('rudder-system'),
  /** Identity in the Lease; the pod name in a cluster. */
  POD_NAME: z.string().min(1).optional(),
  LEADER_ELECTION: bool('true'),
  LEASE_NAME: z.string().min(1).default('rudder-operator'),
  LEASE_DURATION_SECONDS: z.coerce.number().int().min(2).default(15),
  LEASE_RENEW_SECONDS: z.coerce.number().int().min(1).default(5),
  /** Concurrent reconciles (never two for one instance). */
  WORKERS: z.coerce.number().int().min(1).max(64).default(4),
  /** Every instance is reconciled at least this often, even when nothing changed. */
  RESYNC_SECONDS: int(300),
  /** While workloads are not ready, instances are looked at again this often. */
  REQUEUE_NOT_READY_SECONDS: z.coerce.number().min(0.1).default(5),
  BACKOFF_BASE_MS: z.coerce.number().int().min(1).default(500),
  BACKOFF_MAX_MS: z.coerce.number().int().min(1).default(300_000),
  /** /metrics, /healthz and /readyz. 0 picks a free port. */
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: int(8090),
  SHUTDOWN_TIMEOUT_MS: int(20_000),
});

export interface OperatorConfig {
  logLevel: string;
  namespace: string;
  identity: string;
  leaderElection: { enabled: boolean; leaseName: string; durationSeconds: number; renewSeconds: number };
  workers: number;
  resyncMs: number;
  requeueNotReadyMs: number;
  backoff: { baseMs: number; maxMs: number };
  metrics: { host: string; port: number };
  shutdownTimeoutMs: number;
}

/** The operator's configuration, from `env` (process.env in main.ts). */
export function loadConfig(env: Record<string, string | undefined>): OperatorConfig {
  const e = parseEnv(envSchema, env);
  if (e.LEASE_RENEW_SECONDS >= e.LEASE_DURATION_SECONDS)
    throw new Error('invalid configuration:\n  LEASE_RENEW_SECONDS must be below LEASE_DURATION_SECONDS');
  return {
    logLevel: e.LOG_LEVEL,
    namespace: e.OPERATOR_NAMESPACE,
    identity: e.POD_NAME ?? `${hostnameOf(env)}-${process.pid}`,
    leaderElection: {
      enabled: e.LEADER_ELECTION,
      leaseName: e.LEASE_NAME,
      durationSeconds: e.LEASE_DURATION_SECONDS,
      renewSeconds: e.LEASE_RENEW_SECONDS,
    },
    workers: e.WORKERS,
    resyncMs: e.RESYNC_SECONDS * 1000,
    requeueNotReadyMs: e.REQUEUE_NOT_READY_SECONDS * 1000,
    backoff: { baseMs: e.BACKOFF_BASE_MS, maxMs: e.BACKOFF_MAX_MS },
    metrics: { host: e.METRICS_HOST, port: e.METRICS_PORT },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}

function hostnameOf(env: Record<string, string | undefined>): string {
  return env.HOSTNAME ?? 'rudder-operator';
}
