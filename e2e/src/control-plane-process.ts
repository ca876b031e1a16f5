import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestSchema, freePort, waitFor } from '@rudder/devkit';
import type { Cluster } from './cluster.ts';
import { logTail, spawnLogged, type LoggedProcess } from './processes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The control plane run as its own process against the cluster (onboarding creates RudderInstances). */
export interface ControlPlaneProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  proc: LoggedProcess;
  /** Its database: a fresh schema of the test Postgres (tests read what it stored). */
  database: { url: string; schema: string };
  /** Calls its REST API; throws with the answer on a non-2xx status. */
  api<T = unknown>(method: string, path: string, token?: string, body?: unknown): Promise<T>;
  /** Stops it and drops its database schema. */
  stop(): Promise<void>;
}

/**
 * Starts `node controlplane/src/main.ts serve` on 127.0.0.1 with
 * KUBERNETES=kubeconfig (the cluster's admin kubeconfig), a fresh schema of
 * the test Postgres and a fresh Redis prefix; resolves once /health answers.
 * Needs Jest's global setup (RUDDER_TEST_DATABASE_URL, RUDDER_TEST_REDIS_URL).
 */
export async function startControlPlaneProcess(cluster: Cluster): Promise<ControlPlaneProcess> {
  const db = await createTestSchema('e2ecp');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(cluster.dir, 'controlplane.log');
  const proc = spawnLogged('controlplane', process.execPath, ['controlplane/src/main.ts', 'serve'], {
    cwd: ROOT,
    logFile,
    env: {
      PATH: process.env['PATH'],
      DATABASE_URL: db.url,
      DATABASE_SCHEMA: db.schema,
      REDIS_URL: process.env['RUDDER_TEST_REDIS_URL'],
      REDIS_PREFIX: `e2e-${randomBytes(4).toString('hex')}`,
      JWT_SECRET: randomBytes(32).toString('hex'),
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: url,
      KUBERNETES: 'kubeconfig',
      KUBECONFIG: cluster.kubeconfigPath,
      DATAPLANE_IMAGE: 'registry.test/rudder/dataplane:e2e',
      SYSTEM_NAMESPACE: 'rudder-system',
      LOG_LEVEL: 'debug',
    },
  });
  const stop = async (): Promise<void> => {
    await proc.stop(10_000);
    await db.drop();
  };
  try {
    await waitFor(`the control plane at ${url}`, async () => (await fetch(`${url}/health`)).ok, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\n${logTail(logFile)}`, { cause: err });
  }
  return {
    url,
    proc,
    database: { url: db.url, schema: db.schema },
    async api<T>(method: string, path: string, token?: string, body?: unknown): Promise<T> {
      const res = await fetch(url + path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    stop,
  };
}
