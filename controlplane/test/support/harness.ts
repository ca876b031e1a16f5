import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '@rudder/common';
import { createTestSchema } from '@rudder/devkit';
import { startControlPlane, type ControlPlane } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { newId } from '../../src/ids.ts';
import { createTenant } from '../../src/tenants/tenant-repo.ts';
import type { Role } from '../../src/auth/principal.ts';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface TestUser {
  userId: string;
  email: string;
  password: string;
  /** A valid access token, signed the way login signs them. */
  token: string;
}

/** A control plane on its own schema and Redis key prefix, with helpers to call it and to seed data. */
export interface TestControlPlane {
  cp: ControlPlane;
  url: string;
  env: Record<string, string>;
  /** Every log line the control plane wrote, as text (for secret-leak checks). */
  logs: () => string;
  call<T = any>(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  /** A user created directly in the database, with a signed access token. */
  createUser(options?: { email?: string; password?: string }): Promise<TestUser>;
  /** A tenant (with its first workspace) owned by `owner`, created directly through the repository. */
  createTenant(owner: TestUser, id?: string): Promise<{ tenantId: string; workspaceId: string }>;
  addMember(tenantId: string, user: TestUser, role: Role): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a control plane in-process for a test. `env` overrides the defaults;
 * REDIS and DATABASE point at the suite's services (Jest global setup).
 */
export async function startTestControlPlane(env: Record<string, string> = {}): Promise<TestControlPlane> {
  const schema = await createTestSchema('cp');
  const redisUrl = process.env['RUDDER_TEST_REDIS_URL'];
  if (!redisUrl) throw new Error('RUDDER_TEST_REDIS_URL is not set: run tests through `make test`');
  const prefix = `test-${randomBytes(5).toString('hex')}`;
  const fullEnv: Record<string, string> = {
    DATABASE_URL: schema.url,
    DATABASE_SCHEMA: schema.schema,
    DATABASE_POOL_SIZE: '5',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    JWT_SECRET: randomBytes(32).toString('hex'),
    PORT: '0',
    LOG_LEVEL: 'debug',
    JOBS_LOCK_MS: '5000',
    ...env,
  };
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger('rudder-controlplane', {
    level: fullEnv['LOG_LEVEL'] ?? 'debug',
    destination: sink,
  });
  const cp = await startControlPlane(loadConfig(fullEnv), { logger });

  const call: TestControlPlane['call'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(cp.url + path, {
      method: method.toUpperCase(),
      headers,
      ...(options.body === undefined
        ? {}
        : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: body as any };
  };

  return {
    cp,
    url: cp.url,
    env: fullEnv,
    logs: () => lines.join(''),
    call,
    createUser: async (options = {}) => {
      const userId = newId.user();
      const email = options.email ?? `${userId}@example.test`;
      const password = options.password ?? `pw-${randomBytes(8).toString('hex')}`;
      await cp.deps.db.pool.query('INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)', [
        userId,
        email,
        await hashPassword(password),
      ]);
      return { userId, email, password, token: cp.deps.accessTokens.sign({ sub: userId, email }) };
    },
    createTenant: async (owner, id = newId.tenant()) => {
      const created = await cp.deps.db.tx((tx) =>
        createTenant(tx, { id, name: `Tenant ${id}`, ownerUserId: owner.userId }),
      );
      return { tenantId: created.tenant.id, workspaceId: created.workspaceId };
    },
    addMember: async (tenantId, user, role) => {
      await cp.deps.db.pool.query('INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, $3)', [
        tenantId,
        user.userId,
        role,
      ]);
    },
    stop: async () => {
      await cp.stop();
      const redis = new Redis(redisUrl);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        await redis.quit();
      }
      await schema.drop();
    },
  };
}
