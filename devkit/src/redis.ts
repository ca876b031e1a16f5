import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface RunningRedis {
  url: string;
  /** Settles with the exit code when redis-server exits, for whatever reason. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Where redis-server is, or a clear error saying how to get it. */
export function findRedisServer(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status === 0 && path) return path;
  throw new Error(
    'redis-server not found. On Debian/Ubuntu run `make setup SERVICES=1` (it installs the redis-server package; `make dev` and `make test` do this); ' +
      'elsewhere install Redis 7 and put redis-server on PATH.',
  );
}

/**
 * Starts Debian's redis-server on 127.0.0.1 with its data in `dataDir`.
 * `ephemeral` turns persistence off (tests); otherwise it keeps an append-only file.
 */
export async function startRedis(options: {
  dataDir: string;
  port?: number;
  ephemeral?: boolean;
}): Promise<RunningRedis> {
  const bin = findRedisServer();
  const port = options.port ?? (await freePort());
  mkdirSync(options.dataDir, { recursive: true });
  const args = {
    port: String(port),
    bind: '127.0.0.1',
    dir: options.dataDir,
    appendonly: options.ephemeral ? 'no' : 'yes',
    save: '',
    daemonize: 'no',
  };
  const child: ChildProcess = spawn(
    bin,
    Object.entries(args).flatMap(([name, value]) => [`--${name}`, value]),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitForPort(port, 10_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  await waitFor(
    `something to listen on 127.0.0.1:${port}`,
    () =>
      new Promise<boolean>((resolve) => {
        const socket = createConnection({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    { timeoutMs, intervalMs: 50 },
  );
}
