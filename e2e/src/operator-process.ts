import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@rudder/devkit';
import type { Cluster } from './cluster.ts';
import { spawnLogged, logTail, type LoggedProcess } from './processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** An operator replica run as its own process, the way a pod would run it. */
export interface OperatorProcess {
  identity: string;
  proc: LoggedProcess;
  metricsUrl: string;
  /** A counter or gauge from /metrics, summed over its label sets. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  logs(): string;
  /** SIGTERM (clean stop, releases the Lease) or SIGKILL (a crash). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

/**
 * Starts `node operator/src/main.ts` against the cluster, with short lease
 * and backoff times so the scenarios run in seconds. Resolves once its
 * metrics server answers.
 */
export async function startOperatorProcess(
  cluster: Cluster,
  identity: string,
  env: Record<string, string> = {},
): Promise<OperatorProcess> {
  const logFile = join(cluster.dir, `operator-${identity}.log`);
  const proc = spawnLogged(`operator ${identity}`, process.execPath, ['operator/src/main.ts'], {
    cwd: ROOT,
    logFile,
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: cluster.kubeconfigPath,
      OPERATOR_NAMESPACE: 'rudder-system',
      POD_NAME: identity,
      METRICS_PORT: '0',
      LEASE_DURATION_SECONDS: '4',
      LEASE_RENEW_SECONDS: '1',
      REQUEUE_NOT_READY_SECONDS: '1',
      BACKOFF_BASE_MS: '200',
      BACKOFF_MAX_MS: '5000',
      LOG_LEVEL: 'debug',
      ...env,
    },
  });
  const dead = new AbortController();
  void proc.exited.then(() => dead.abort(new Error(`operator ${identity} exited:\n${logTail(logFile)}`)));
  const metricsUrl = await waitFor(
    `operator ${identity} to start`,
    () => {
      for (const line of readFileSync(logFile, 'utf8').split('\n')) {
        if (!line.includes('"operator started"')) continue;
        return (JSON.parse(line) as { metricsUrl: string }).metricsUrl;
      }
      return undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50, signal: dead.signal },
  );
  return {
    identity,
    proc,
    metricsUrl,
    async metric(name, labels = {}) {
      const text = await (await fetch(`${metricsUrl}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const set = m[2] ?? '';
        if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
      }
      return sum;
    },
    logs: () => readFileSync(logFile, 'utf8'),
    async stop(signal = 'SIGTERM') {
      if (signal === 'SIGKILL') {
        proc.child.kill('SIGKILL');
        await proc.exited;
      } else await proc.stop(20_000);
    },
  };
}
