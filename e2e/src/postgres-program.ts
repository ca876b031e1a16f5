import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { V1Pod } from '@kubernetes/client-node';
import { PodConfigError, resolveContainerEnv } from './pod-env.ts';
import { pickContainer, type PodContext, type PodProgram } from './pod-program.ts';
import { startLocalPostgres } from './local-postgres.ts';
import { portMap } from './service-endpoints.ts';

/** The label that marks a tenant Postgres pod. */
export const POSTGRES_NAME = 'rudder-postgres';

/** Whether `pod` is a Postgres pod (`app.kubernetes.io/name: rudder-postgres`). */
export function isPostgresPod(pod: V1Pod): boolean {
  return pod.metadata?.labels?.['app.kubernetes.io/name'] === POSTGRES_NAME;
}

/**
 * Runs a Postgres pod as a real Postgres 18 (see `startLocalPostgres`) in
 * the pod's folder, on a free local port that stands for every container
 * port of the pod. Like the official image it takes POSTGRES_USER (default
 * `postgres`), POSTGRES_PASSWORD (required) and POSTGRES_DB (default: the
 * user) from the container's environment; PGDATA and volumes are not used.
 *
 * Ready when the user can log in to the database with the password.
 */
export async function postgresProgram(ctx: PodContext): Promise<PodProgram | undefined> {
  const container = pickContainer(ctx.pod, 'postgres');
  if (!container) return undefined;
  const port = await ctx.allocatePort();
  const declared = container.ports ?? [];
  const listening = Object.fromEntries([5432, ...declared.map((p) => p.containerPort)].map((p) => [p, port]));
  const ports = portMap(declared, listening);
  return {
    container: container.name,
    ports,
    start: async () => {
      const facts = { podIP: '127.0.0.1', hostIP: '127.0.0.1', nodeName: ctx.nodeName };
      const env = await resolveContainerEnv(ctx.core, ctx.pod, container, facts);
      const user = env['POSTGRES_USER'] || 'postgres';
      const password = env['POSTGRES_PASSWORD'];
      if (!password) {
        throw new PodConfigError(
          'POSTGRES_PASSWORD is not set (the postgres image refuses to start without it)',
        );
      }
      const database = env['POSTGRES_DB'] || user;
      const log = (line: string): void => appendFileSync(ctx.logFile, `${line}\n`);
      const dataDir = join(ctx.dir, 'pgdata');
      const server = await startLocalPostgres({ dataDir, port, user, password, database, log });
      const login = { host: '127.0.0.1', port, user, password, database, connectionTimeoutMillis: 2000 };
      return {
        containerId: `process://${server.pid ?? 0}`,
        exited: server.exited,
        ready: () => canLogIn(login),
        stop: (graceMs) => server.stop(graceMs),
      };
    },
  };
}

async function canLogIn(login: pg.ClientConfig): Promise<boolean> {
  const client = new pg.Client(login);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
