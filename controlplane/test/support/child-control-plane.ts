import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type pg from 'pg';
import { Redis } from 'ioredis';
import { createPool } from '@rudder/common/pg';
import { createTestSchema, freePort, waitFor } from '@rudder/devkit';
import { migrate } from '../../src/db/migrate.ts';
import { AccessTokens } from '../../src/auth/tokens.ts';
import { newId } from '../../src/ids.ts';
import type { ApiResponse, TestUser } from './harness.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * The ground for control planes run as child processes (so a test can
 * SIGKILL and restart them): a migrated schema, a Redis key prefix, the
 * environment the harness would build, and direct database access.
 */
export interface ChildEnvironment {
  env: Record<string, string>;
  /** The control plane's schema, for seeding and checking. */
  pool: pg.Pool;
  createUser(): Promise<TestUser>;
  /** Every value stored under the Redis prefix, as text (for secret-leak checks). */
  redisText(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function prepareChildEnvironment(
  overrides: Record<string, string> = {},
): Promise<ChildEnvironment> {
  const schema = await createTestSchema('cp');
  const redisUrl = process.env['RUDDER_TEST_REDIS_URL'];
  if (!redisUrl) throw new Error('RUDDER_TEST_REDIS_URL is not set: run tests through `make test`');
  const prefix = `test-${randomBytes(5).toString('hex')}`;
  const env: Record<string, string> = {
    DATABASE_URL: schema.url,
    DATABASE_SCHEMA: schema.schema,
    DATABASE_POOL_SIZE: '5',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'debug',
    JOBS_LOCK_MS: '2000',
    SHUTDOWN_TIMEOUT_MS: '10000',
    ...overrides,
  };
  await migrate({ url: schema.url, schema: schema.schema });
  const pool = createPool({ url: schema.url, schema: schema.schema, max: 3 });
  const tokens = new AccessTokens({ secret: env['JWT_SECRET']!, ttlSeconds: 3600 });

  const scan = async <T>(fn: (redis: Redis, keys: string[]) => Promise<T>): Promise<T> => {
    const redis = new Redis(redisUrl);
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      return await fn(redis, keys);
    } finally {
      await redis.quit();
    }
  };

  return {
    env,
    pool,
    createUser: async () => {
      const userId = newId.user();
      const email = `${userId}@example.test`;
      // Users of these tests never log in; they carry signed access tokens.
      await pool.query('INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)', [
        userId,
        email,
        'x',
      ]);
      return { userId, email, password: '', token: tokens.sign({ sub: userId, email }) };
    },
    redisText: () =>
      scan(async (redis, keys) => {
        const parts: string[] = [];
        for (const key of keys) {
          const type = await redis.type(key);
          if (type === 'string') parts.push((await redis.get(key)) ?? '');
          else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
          else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
          else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
          else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, '0', '-1')));
          else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
        }
        return parts.join('\n');
      }),
    cleanup: async () => {
      await pool.end();
      await scan(async (redis, keys) => {
        if (keys.length) await redis.del(...keys);
      });
      await schema.drop();
    },
  };
}

/** `node controlplane/src/main.ts` with the given environment, on a port of its own. */
export class ChildControlPlane {
  readonly url: string;
  private readonly child: ChildProcess;
  private readonly output: string[];
  private readonly exited: Promise<void>;

  private constructor(url: string, child: ChildProcess, output: string[], exited: Promise<void>) {
    this.url = url;
    this.child = child;
    this.output = output;
    this.exited = exited;
  }

  /** Starts the control plane and waits until it answers /ready. */
  static async start(env: Record<string, string>): Promise<ChildControlPlane> {
    const port = await freePort();
    const child = spawn(process.execPath, ['controlplane/src/main.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    const died = new AbortController();
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        died.abort(new Error(`control plane exited early:\n${output.join('').slice(-4000)}`));
        resolve();
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    const cp = new ChildControlPlane(url, child, output, exited);
    await waitFor('the control plane to be ready', async () => (await fetch(`${url}/ready`)).ok, {
      timeoutMs: 30_000,
      intervalMs: 50,
      signal: died.signal,
    });
    return cp;
  }

  /** Everything the process wrote to stdout and stderr. */
  logs(): string {
    return this.output.join('');
  }

  async call<T = any>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.url + path, {
      method: method.toUpperCase(),
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: body as T };
  }

  /** kill -9: no shutdown path runs. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, and the exit code once it has drained. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
    return this.child.exitCode;
  }
}
